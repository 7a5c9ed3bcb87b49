{
  "targets": [
    {
      "target_name": "ps_kernels_avx2",
      "type": "static_library",
      "sources": ["native/kernels_avx2.cc"],
      "cflags": ["-fPIC", "-O3", "-fopenmp", "-ffp-contract=fast"],
      "cflags_cc": ["-std=gnu++17"],
      "conditions": [
        ["target_arch=='x64' or target_arch=='ia32'", { "cflags": ["-mavx2", "-mfma"] }]
      ]
    },
    {
      "target_name": "ps_kernels_portable",
      "type": "static_library",
      "sources": ["native/kernels_portable.cc"],
      "cflags": ["-fPIC", "-O3", "-fopenmp", "-ffp-contract=fast"],
      "cflags_cc": ["-std=gnu++17"]
    },
    {
      "target_name": "poster_studio_native",
      "sources": ["native/addon.cc"],
      "dependencies": [
        "ps_kernels_avx2",
        "ps_kernels_portable",
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "cflags": ["-O3", "-fopenmp"],
      "ldflags": ["-fopenmp"]
    }
  ]
}
