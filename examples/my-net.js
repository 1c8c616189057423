// A model of your own, written with lth's layer API: export `layers`, a list of nodes (tfjs-layers'
// kinds, README "Your own data and model"). lth appends the output layer ("output", one unit per
// class) and resolves shapes against the data. Run it with: lth run examples/my-net.json
import { layers as L } from 'lth';

export const layers = [
  L.conv2d(8, { name: 'stem' }),
  L.batchNormalization(),
  L.relu({ name: 'stem_relu' }),
  // a residual block: two convolutions and a shortcut from the stem's ReLU
  L.conv2d(8, { name: 'b1_conv1' }),
  L.relu(),
  L.conv2d(8, { name: 'b1_conv2' }),
  L.add(['stem_relu', 'b1_conv2'], { name: 'b1_add' }),
  L.relu(),
  L.maxPooling2d(),
  L.flatten(),
  L.dense(32),
  L.relu(),
];
