process.env.EGL_PLATFORM = 'surfaceless';
const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
const gpu = create(['backend=opengles']);
const a = await gpu.requestAdapter({ featureLevel: 'compatibility' });
const i = a.info;
console.log(
  JSON.stringify({
    vendor: i.vendor,
    arch: i.architecture,
    device: i.device,
    desc: i.description,
    fb: a.isFallbackAdapter,
    ifb: i.isFallbackAdapter,
    feats: [...a.features],
  }),
);
const tfw = await import('@tensorflow/tfjs-backend-webgpu');
const tf = await import('@tensorflow/tfjs');
const device = await a.requestDevice({});
tf.registerBackend('wg', async () => new tfw.WebGPUBackend(device, a.info));
try {
  console.log(await tf.setBackend('wg'));
} catch (e) {
  console.log('ERR', e);
}
