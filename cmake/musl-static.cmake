# musl-static.cmake - CMake toolchain for a fully static Linux x86_64 build
# with musl (Debian's musl-tools): a binary that runs on any Linux, from a
# USB stick. Dependencies only from RDM_STATIC_PREFIX (default
# build/static-deps/prefix, made by scripts/static-linux.sh).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER musl-gcc)
if(NOT RDM_STATIC_PREFIX)
  if(DEFINED ENV{RDM_STATIC_PREFIX})
    set(RDM_STATIC_PREFIX $ENV{RDM_STATIC_PREFIX})
  else()
    get_filename_component(RDM_STATIC_PREFIX ${CMAKE_CURRENT_LIST_DIR}/../build/static-deps/prefix
                           ABSOLUTE)
  endif()
endif()
set(CMAKE_FIND_ROOT_PATH ${RDM_STATIC_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
set(CMAKE_EXE_LINKER_FLAGS_INIT -static)
