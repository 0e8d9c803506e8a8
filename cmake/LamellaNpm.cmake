# lamella_npm_function(<target> SOURCE_DIR <dir> DESTINATION <dir> FILES <file>...)
#
# A Node.js function directory in the build tree whose npm dependencies are installed there:
# copies FILES (paths relative to SOURCE_DIR; they must include package.json and
# package-lock.json) into DESTINATION, then runs `npm ci` in DESTINATION. node_modules never
# appears in the source tree. The install reruns when package.json or the lockfile changes (or
# node_modules was deleted): its output is a stamp inside node_modules. <target> is built by
# `all`, so a fresh clone's build installs the dependencies. npm inherits the build's
# environment (registry settings, NODE_EXTRA_CA_CERTS).
include_guard(GLOBAL)

function(lamella_npm_function target)
  cmake_parse_arguments(ARG "" "SOURCE_DIR;DESTINATION" "FILES" ${ARGN})
  foreach(required package.json package-lock.json)
    if(NOT required IN_LIST ARG_FILES)
      message(FATAL_ERROR "lamella_npm_function(${target}): FILES must list ${required}")
    endif()
  endforeach()
  set(copies)
  foreach(rel ${ARG_FILES})
    add_custom_command(OUTPUT ${ARG_DESTINATION}/${rel}
      COMMAND ${CMAKE_COMMAND} -E copy_if_different ${ARG_SOURCE_DIR}/${rel}
              ${ARG_DESTINATION}/${rel}
      DEPENDS ${ARG_SOURCE_DIR}/${rel} VERBATIM)
    list(APPEND copies ${ARG_DESTINATION}/${rel})
  endforeach()
  set(stamp ${ARG_DESTINATION}/node_modules/.lamella-npm-ci.stamp)
  add_custom_command(OUTPUT ${stamp}
    COMMAND ${LAMELLA_NPM_EXECUTABLE} ci --ignore-scripts --no-audit --no-fund --loglevel=error
    COMMAND ${CMAKE_COMMAND} -E touch ${stamp}
    DEPENDS ${ARG_DESTINATION}/package.json ${ARG_DESTINATION}/package-lock.json
    WORKING_DIRECTORY ${ARG_DESTINATION}
    COMMENT "npm ci in ${ARG_DESTINATION}" VERBATIM)
  add_custom_target(${target} ALL DEPENDS ${copies} ${stamp})
endfunction()
