# Every confide target builds with these; warnings are errors.
add_library(confide_warnings INTERFACE)
target_compile_options(confide_warnings INTERFACE
  -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused
  -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough)
# GCC 12 at -O2/-O3 reports false stringop-overread errors inside libstdc++'s vector
# comparisons (GCC bugs 105651, 106199); the code is bounds-checked by construction.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(confide_warnings INTERFACE -Wno-stringop-overread)
endif()
