# ASan+UBSan for the asan and fuzz presets. UBSan findings abort so tests fail on them.
if(CONFIDE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()
if(CONFIDE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CONFIDE_FUZZ needs clang (libFuzzer); use the 'fuzz' preset")
  endif()
  # Libraries get coverage instrumentation; only fuzz targets link the libFuzzer main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
