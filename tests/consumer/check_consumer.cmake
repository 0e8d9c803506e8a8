# Installs the lamella build in BUILD_DIR into a scratch prefix, then configures, builds and
# runs the consumer project in SOURCE_DIR/tests/consumer against it. Run with cmake -P.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/build
                -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the consumer failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the consumer failed: ${rc}")
endif()
# The consumer's bootstrap, run by the installed `lamella` CLI, echoes the event back.
execute_process(COMMAND ${WORK_DIR}/prefix/bin/lamella invoke ${WORK_DIR}/build
                        --event "{\"consumer\":true}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(STRIP "${out}" out)
if(NOT rc EQUAL 0 OR NOT out STREQUAL "{\"consumer\":true}")
  message(FATAL_ERROR "the consumer function did not answer: rc=${rc} out=${out} err=${err}")
endif()
message(STATUS "consumer built and ran against the installed lamella package")

# The installed generic bootstrap runs a Node.js handler through the installed JS runtime and
# addon (bin/node/lamella-node), when the build has Node support.
if(EXISTS ${WORK_DIR}/prefix/bin/node/lamella-node/lamella.node)
  execute_process(COMMAND ${WORK_DIR}/prefix/bin/lamella invoke ${SOURCE_DIR}/samples/node-hello
                          --handler index.handler --event "{\"name\":\"consumer\"}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "\"message\":\"Hello, consumer!\"")
    message(FATAL_ERROR "the installed Node runtime did not answer: rc=${rc} out=${out} err=${err}")
  endif()
  message(STATUS "the installed Node.js runtime ran samples/node-hello")
endif()
