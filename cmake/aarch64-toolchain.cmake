# Cross build for linux-arm64 with Debian's cross toolchain
# (g++-aarch64-linux-gnu) and multiarch packages (libfoo-dev:arm64 installs
# into /usr/lib/aarch64-linux-gnu and /usr/include/aarch64-linux-gnu).
#
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-toolchain.cmake ...
#
# No sysroot: Debian's cross gcc already searches /usr/aarch64-linux-gnu,
# /usr/include/aarch64-linux-gnu, /usr/include and /usr/lib/aarch64-linux-gnu.
# CMAKE_LIBRARY_ARCHITECTURE makes find_library/find_package look in
# /usr/lib/aarch64-linux-gnu (and .../cmake/<pkg>) instead of the host's
# x86_64 directories. Programs (pkg-config, git) are the build machine's.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_AR aarch64-linux-gnu-ar CACHE FILEPATH "")
set(CMAKE_RANLIB aarch64-linux-gnu-ranlib CACHE FILEPATH "")
set(CMAKE_STRIP aarch64-linux-gnu-strip CACHE FILEPATH "")
set(CMAKE_OBJCOPY aarch64-linux-gnu-objcopy CACHE FILEPATH "")
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Never pick up the build machine's x86_64 libraries: only the arm64
# multiarch directory and explicitly given prefixes (CMAKE_PREFIX_PATH).
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu
    /usr/lib/x86_64-linux-gnu/cmake /usr/lib/x86_64-linux-gnu/pkgconfig)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# pkg-config: the arm64 .pc files, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")

# try_run cannot run arm64 programs here (no binfmt needed: tests run the
# binary through qemu-aarch64-static explicitly).
set(CMAKE_CROSSCOMPILING_EMULATOR "" CACHE STRING "")
