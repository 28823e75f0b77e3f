// node-env.pre.js: --pre-js for the wasm Catch2 tests and node tools. Emscripten's getenv() reads
// its own ENV object, which does not import node's process.env: copy it in before main() runs,
// so the tests see FOLIA_DATA, FOLIA_SOURCE_DIR and FOLIA_BINARY_DIR like their native twins.
if (typeof process === 'object' && process.env) {
  Module['preRun'] = Module['preRun'] || [];
  Module['preRun'].push(function () {
    for (var name in process.env) ENV[name] = process.env[name];
  });
}
