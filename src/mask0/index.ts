export { MASK0, type Mask0Inputs, type Mask0Name } from './actions.js';
