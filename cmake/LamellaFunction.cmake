# lamella_function(<target>): turns an executable that calls lamella::run() into a Lambda custom
# runtime: the output is named `bootstrap`, and libstdc++ and libgcc are linked statically, so
# the process maps only libc and the dynamic loader. Measured here: spawn to first /next drops
# from ~1.4x to ~1.0x a plain C program's (docs/performance.md); the binary grows by ~1.2 MB.
# Installed with the package: find_package(lamella) makes it available.
function(lamella_function target)
  set_target_properties(${target} PROPERTIES OUTPUT_NAME bootstrap)
  target_link_options(${target} PRIVATE -static-libstdc++ -static-libgcc)
endfunction()
