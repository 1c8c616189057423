// ESLint with typescript-eslint: the recommended rules, unused variables and imports as errors.
import Module from 'node:module';
import { defineConfig } from 'eslint/config';

// typescript-eslint parses with TypeScript's JS API, which TypeScript 7 (our compiler) no longer
// ships; `typescript-api` is TypeScript 6 installed under an alias, handed to it as `typescript`.
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return resolve.call(this, request === 'typescript' ? 'typescript-api' : request, ...rest);
};
const { default: js } = await import('@eslint/js');
const { default: tseslint } = await import('typescript-eslint');

// Large CommonJS packages are required, not imported, so that Node does not lex them for export
// names in every process (src/util/tf.ts); type-only imports are free.
const required = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm', 'jstat'];

export default defineConfig({ ignores: ['dist/', 'results/', 'src/kernels/binaries.ts'] }, js.configs.recommended, tseslint.configs.recommended, {
  linterOptions: { reportUnusedDisableDirectives: 'error' },
  rules: {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      {
        paths: required.map((name) => ({
          name,
          allowTypeImports: true,
          message: 'require it (see src/util/tf.ts: `import { tf } from ".../util/tf.js"`); an ESM import lexes the whole CommonJS file in every process',
        })),
      },
    ],
  },
});
