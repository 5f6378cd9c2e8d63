# confide_module(NAME DEPS ...) defines the library confide_<NAME> from src/<NAME>/*.cc
# (tests excluded) and, when tests are on, the test binary confide_<NAME>_test from
# src/<NAME>/*_test.cc, registered with ctest. DEPS are confide_* or external targets.
function(confide_module name)
  cmake_parse_arguments(ARG "" "" "DEPS;PRIVATE_DEPS;TEST_DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc
       ${CMAKE_CURRENT_SOURCE_DIR}/internal/*.cc)
  list(FILTER srcs EXCLUDE REGEX "_test\\.cc$")
  add_library(confide_${name} STATIC ${srcs})
  target_include_directories(confide_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(confide_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS}
                        confide_warnings)
  if(CONFIDE_BUILD_TESTS)
    file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
    if(tests)
      add_executable(confide_${name}_test ${tests})
      target_link_libraries(confide_${name}_test PRIVATE confide_${name} confide_testing
                            ${ARG_TEST_DEPS} GTest::gtest GTest::gtest_main confide_warnings)
      target_compile_definitions(confide_${name}_test PRIVATE
        CONFIDE_SHARED_DIR="${CONFIDE_SHARED_DIR}")
      add_test(NAME ${name} COMMAND confide_${name}_test --gtest_brief=1)
      set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 600)
    endif()
  endif()
endfunction()

# confide_all_libraries(OUT) sets OUT to every confide_<module> library defined so far, highest
# layer first (link order for fuzz targets and benchmarks).
function(confide_all_libraries out)
  set(libs)
  foreach(module IN ITEMS cli app client rag authz guard vision llm gateway proxy kms enclave
                         image http ohttp attest cose cbor crypto base)
    if(TARGET confide_${module})
      list(APPEND libs confide_${module})
    endif()
  endforeach()
  set(${out} ${libs} PARENT_SCOPE)
endfunction()
