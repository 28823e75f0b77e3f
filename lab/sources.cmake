# The lab's sources that both builds compile (native: lab/CMakeLists.txt; wasm: the web build
# adds lab/platform-web.cpp). Paths relative to this folder.
set(FOLIA_LAB_SOURCES
  main.cpp
  lab-state.cpp
  lab-charts.cpp
  lab-eval.cpp
  lab-screenshot.cpp
  panel-diagnose.cpp
  panel-train.cpp
  panel-evaluate.cpp
  panel-bench.cpp
)
list(TRANSFORM FOLIA_LAB_SOURCES PREPEND "${CMAKE_CURRENT_LIST_DIR}/")
