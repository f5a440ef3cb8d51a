{
  "targets": [
    {
      "target_name": "sphereface",
      "sources": ["<!@(node scripts/native-sources.js sources)"],
      "include_dirs": [
        "native",
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/torch-paths.js include)"
      ],
      "defines": [
        "<!@(node scripts/native-sources.js defines)",
        "SPHEREFACE_TORCH_SOURCE=\"node-gyp (<!(node scripts/torch-paths.js libdir))\""
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++1y", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": [
        "-std=<!(node scripts/torch-paths.js cxxstd)",
        "-fexceptions",
        "-frtti",
        "-fvisibility=hidden",
        "-O3",
        "<!@(node scripts/native-sources.js cxxflags)"
      ],
      "libraries": [
        "-L<!(node scripts/torch-paths.js libdir)",
        "-Wl,-rpath,<!(node scripts/torch-paths.js libdir)",
        "-ltorch",
        "-ltorch_cpu",
        "-lc10",
        "<!@(node scripts/native-sources.js libraries)",
        "<!@(node scripts/native-sources.js ldflags)"
      ]
    }
  ]
}
