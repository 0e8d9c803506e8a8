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
