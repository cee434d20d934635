{
  "targets": [
    {
      "target_name": "trainformer_native",
      "sources": [
        "native/src/addon.cc",
        "native/src/aligned-buffer.cc",
        "native/src/pool.cc",
        "native/src/elementwise.cc",
        "native/src/reduce.cc",
        "native/src/cross_entropy.cc",
        "native/src/matmul.cc",
        "native/src/skinny-gemm.cc",
        "native/src/norm.cc",
        "native/src/index.cc",
        "native/src/optim.cc",
        "native/src/attention.cc",
        "native/src/attention-amx.cc",
        "native/src/attention-lowp.cc",
        "native/src/bf16-addon.cc",
        "native/src/bf16-gemm.cc",
        "native/src/bf16-kernel.cc",
        "native/src/bf16-dnnl.cc",
        "native/src/gelu-bf16.cc",
        "native/src/column-sums-bf16.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-omit-frame-pointer"],
      "cflags_cc": ["-O3", "-march=<!(node -p \"process.env.TRAINFORMER_NATIVE_MARCH || 'native'\")", "-fno-math-errno",
        "-fno-trapping-math", "-pthread",
        "-Wno-maybe-uninitialized"],
      "libraries": ["-lopenblas", "-pthread", "-ldl"],
      "conditions": [
        ["target_arch=='x64' or target_arch=='ia32'", {"cflags_cc": ["-mprefer-vector-width=512"]}],
        ["<!(node -p \"process.env.TRAINFORMER_NO_DNNL ? 0 : +require('fs').existsSync('/usr/include/oneapi/dnnl/dnnl.hpp')\")==1",
          {"defines": ["TRAINFORMER_DNNL"], "libraries": ["-ldnnl", "-lgomp"]}]
      ]
    }
  ]
}
