// Boost.JSON compiled into the runtime library from its header-only source, so that programs
// built on lamella link no Boost shared library (DESIGN.md: the bootstrap links only libc and
// libstdc++).
#include <boost/json/src.hpp>
