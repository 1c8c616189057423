{
  # lth's native kernels: one N-API addon, plain C. src/kernels/*.c are the very sources the wasm
  # kernels are built from (scripts/build-kernels), compiled here for x86-64 with AVX2 + FMA
  # (the pinned instruction set; docs/PERFORMANCE.md). GEMMs go to OpenBLAS (libopenblas-dev),
  # convolutions to oneDNN's direct AVX2 kernels (libdnnl-dev; Debian's is built with OpenMP, hence -lgomp).
  "targets": [
    {
      "target_name": "lth_native",
      "sources": [
        "src/addon.c",
        "src/batchnorm.c",
        "src/conv.c",
        "src/eltwise.c",
        "src/gemm.c",
        "src/onednn.c",
        "src/parallel.c",
        "../src/kernels/adam.c",
        "../src/kernels/dense.c",
        "../src/kernels/layout.c",
        "../src/kernels/sparse.c"
      ],
      "include_dirs": ["/usr/include/x86_64-linux-gnu/openblas-pthread", "/usr/include/openblas"],
      "libraries": ["-lopenblas", "-ldnnl", "-lgomp", "-lpthread"],
      "cflags": ["-O3", "-mavx2", "-mfma", "-ffp-contract=off", "-std=c11", "-Wno-attributes", "-fno-math-errno"],
      "cflags!": ["-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
