# Shared build settings for lamella's own targets.

# Warnings and sanitizers for a lamella target.
function(lamella_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow)
  if(LAMELLA_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
    if(LAMELLA_SANITIZERS MATCHES "thread")
      # GCC 12 warns (-Wtsan) about atomic_thread_fence inside Boost's headers.
      target_compile_options(${target} PRIVATE -Wno-error=tsan)
    endif()
  endif()
endfunction()

if(LAMELLA_SANITIZERS)
  add_compile_options(-fsanitize=${LAMELLA_SANITIZERS} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${LAMELLA_SANITIZERS})
endif()

# libFuzzer: coverage instrumentation (and ASan/UBSan) for every target, so that the fuzzers
# see into the library; the fuzz targets themselves link -fsanitize=fuzzer (tests/fuzz).
if(LAMELLA_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "LAMELLA_FUZZ needs Clang (CXX=clang++-14); GCC builds the replay test only")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

# lamella_add_test(name SOURCES ... [LIBS ...] [LABELS ...]): a GoogleTest executable whose
# tests are registered with ctest one by one.
function(lamella_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  lamella_target_defaults(${name})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
  include(GoogleTest)
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 30)
endfunction()
