import * as tf from '@tensorflow/tfjs-core';
const b = await import('/work/wt-backend/dist/src/backend/index.js');
console.log(await b.initBackend('auto'), b.backendLabel(), b.backendFailure('webgpu'));
console.log(await b.initBackend('webgpu'), b.backendLabel(), b.webgpuAdapter());
const a = tf.randomNormal([64, 64]);
const c = tf.matMul(a, a);
console.log((await c.data())[0]);
