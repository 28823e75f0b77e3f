# cmake -DVERSION=<x.y.z> -DPACKAGE=<package.json> -P check-version.cmake: fails unless the npm
# package's "version" is VERSION (npm needs a literal there; the one source is the file VERSION).
file(READ "${PACKAGE}" _json)
string(JSON _v GET "${_json}" version)
if(NOT _v STREQUAL VERSION)
  message(FATAL_ERROR "${PACKAGE} says version ${_v}, the file VERSION says ${VERSION}: make them agree")
endif()
message(STATUS "${PACKAGE}: version ${_v} = VERSION")
