# Every confide target builds with these; warnings are errors.
add_library(confide_warnings INTERFACE)
target_compile_options(confide_warnings INTERFACE
  -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused
  -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough)
