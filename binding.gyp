{
  "targets": [
    {
      "target_name": "ps_kernels_avx512",
      "type": "static_library",
      "sources": ["engine/native/kernels_avx512.cc"],
      "cflags": ["-fPIC", "-O3", "-fopenmp", "-ffp-contract=fast"],
      "cflags_cc": ["-std=gnu++17", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "conditions": [
        ["target_arch=='x64' or target_arch=='ia32'", { "cflags": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma"] }]
      ]
    },
    {
      "target_name": "ps_kernels_avx2",
      "type": "static_library",
      "sources": ["engine/native/kernels_avx2.cc"],
      "cflags": ["-fPIC", "-O3", "-fopenmp", "-ffp-contract=fast"],
      "cflags_cc": ["-std=gnu++17", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "conditions": [
        ["target_arch=='x64' or target_arch=='ia32'", { "cflags": ["-mavx2", "-mfma"] }]
      ]
    },
    {
      "target_name": "ps_kernels_portable",
      "type": "static_library",
      "sources": ["engine/native/kernels_portable.cc"],
      "cflags": ["-fPIC", "-O3", "-fopenmp", "-ffp-contract=fast"],
      "cflags_cc": ["-std=gnu++17", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    {
      "target_name": "ps_kernels_amx",
      "type": "static_library",
      "sources": ["engine/native/amx.cc", "engine/native/amx_conv.cc"],
      "cflags": ["-fPIC", "-O3", "-fopenmp", "<!@(node engine/amx-flags.mjs)"],
      "cflags_cc": ["-std=gnu++17", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    {
      "target_name": "poster_studio_native",
      "sources": ["engine/native/addon.cc", "engine/native/stride2.cc", "engine/native/addon_amx.cc", "engine/native/addon_elementwise.cc", "engine/native/elementwise.cc", "engine/native/pooling.cc", "engine/native/addon_training.cc", "engine/native/training.cc", "engine/native/training_bn_avx2.cc", "engine/native/training_opt_avx2.cc"],
      "dependencies": [
        "ps_kernels_avx512",
        "ps_kernels_avx2",
        "ps_kernels_portable",
        "ps_kernels_amx",
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "cflags": ["-O3", "-fopenmp", "-ffp-contract=fast"],
      "cflags_cc": ["-std=gnu++17"],
      "ldflags": ["-fopenmp"]
    }
  ],
  "variables": {
    "has_libjpeg%": "<!(node -p \"['/usr/include/jpeglib.h','/usr/local/include/jpeglib.h'].some((f)=>require('fs').existsSync(f))?1:0\")"
  },
  "conditions": [
    ["has_libjpeg==1", {
      "targets": [
        {
          "target_name": "poster_studio_jpeg",
          "sources": ["src/features/prepare/native/jpeg_resize.cc"],
          "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
          "cflags_cc": ["-O3", "-std=gnu++17"],
          "libraries": ["-ljpeg"]
        }
      ]
    }]
  ]
}
