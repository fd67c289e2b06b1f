{
  # node-gyp build of the native engine: the same sources and flags as CMakeLists.txt
  # (the cmake-js build), same output build/Release/kvstore_native.node.
  "targets": [
    {
      "target_name": "kvstore_native",
      "sources": [
        "native/core/control_file.cc",
        "native/core/crc32c.cc",
        "native/core/dir_lock.cc",
        "native/core/engine.cc",
        "native/core/engine_apply.cc",
        "native/core/engine_checkpoint.cc",
        "native/core/engine_flusher.cc",
        "native/core/engine_read.cc",
        "native/core/engine_recovery.cc",
        "native/core/engine_registry.cc",
        "native/core/engine_standby.cc",
        "native/core/engine_wal_read.cc",
        "native/core/engine_write.cc",
        "native/core/file_util.cc",
        "native/core/shard_table.cc",
        "native/core/snapshot.cc",
        "native/core/wal_reader.cc",
        "native/core/wal_writer.cc",
        "native/binding/addon.cc",
        "native/binding/engine_handle.cc",
        "native/binding/errors.cc",
        "native/binding/js_call.cc",
        "native/binding/replication.cc",
        "native/binding/args.cc",
        "native/binding/fast_path.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++1y", "-std=gnu++14", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fexceptions", "-fvisibility=hidden"],
      "ldflags": ["-pthread"]
    }
  ]
}
