# Release build settings, injected without touching CMakeLists.txt:
#
#   cmake -S . -B build-release-amd64 -DCMAKE_PROJECT_INCLUDE=$PWD/cmake/release.cmake \
#         -DHAB_RELEASE_VERSION=X.Y.Z -DHAB_DEPS_PREFIXES="/opt/hab-deps/onetbb-2021.8.0;..." ...
#
# (scripts/release.sh does this.) CMake includes this file at the end of the
# top-level project() call, i.e. before any find_package() or target.
#
# Goal: an executable whose only dynamic dependencies are glibc's (libc,
# libm, ld-linux): libstdc++ and libgcc linked statically, every other
# library from a static archive (.a).
#
# 1. HAB_RELEASE_VERSION (X.Y.Z) replaces PROJECT_VERSION, which the top-level
#    CMakeLists.txt hands to cmake/version.cmake: `hostatlas-backup version`
#    prints it (the commit still comes from git, with -dirty when the work
#    tree has changes).
# 2. HAB_DEPS_PREFIXES (list): prefixes of the libraries built from Debian's
#    source packages (scripts/deps/*.sh). They go first on CMAKE_PREFIX_PATH
#    (find_package: TBB, simdjson, ...) and PKG_CONFIG_PATH (pkg-config:
#    libcurl, libarchive, ...), so they win over the system's shared builds.
# 3. pkg-config runs with --static (PKG_CONFIG_ARGN), so every library's
#    private dependencies (Libs.private) are on the link line.
# 4. At the end of the top-level CMakeLists.txt (cmake_language(DEFER)), every
#    imported target is rewritten to link static archives: a location or link
#    item libX.so[.N...] becomes libX.a in the same directory (absl's and
#    yaml-cpp's CMake packages, and pkg-config results, name the .so even
#    where Debian ships the .a next to it). glibc's own libraries (c, m, dl,
#    pthread, rt, ...) stay dynamic as plain -l names. A shared library
#    without a static sibling is a configure error that names it.
# 5. -static-libstdc++ -static-libgcc; Debian's hardening flags (as
#    dpkg-buildflags gives them to Debian's packages: stack protector,
#    _FORTIFY_SOURCE=2, RELRO + BIND_NOW; PIE is the compiler's default);
#    --gc-sections; no RPATH.
include_guard(GLOBAL)

# ---- 1. version -----------------------------------------------------------
set(HAB_RELEASE_VERSION "" CACHE STRING "Release version printed by `hostatlas-backup version` (X.Y.Z)")
if(HAB_RELEASE_VERSION)
  if(NOT HAB_RELEASE_VERSION MATCHES "^[0-9]+\\.[0-9]+\\.[0-9]+$")
    message(FATAL_ERROR "HAB_RELEASE_VERSION must be X.Y.Z (digits), got '${HAB_RELEASE_VERSION}'")
  endif()
  set(PROJECT_VERSION "${HAB_RELEASE_VERSION}")
  set(CMAKE_PROJECT_VERSION "${HAB_RELEASE_VERSION}")
  set(${PROJECT_NAME}_VERSION "${HAB_RELEASE_VERSION}")
  message(STATUS "release: version ${HAB_RELEASE_VERSION}")
endif()

# ---- 2. our static dependencies first -------------------------------------
set(HAB_DEPS_PREFIXES "" CACHE STRING "Prefixes of the static libraries built by scripts/deps/*.sh")
set(_hab_pc "")
foreach(p IN LISTS HAB_DEPS_PREFIXES)
  if(NOT IS_DIRECTORY "${p}")
    message(FATAL_ERROR "release: dependency prefix ${p} does not exist (run scripts/deps/*.sh)")
  endif()
  list(PREPEND CMAKE_PREFIX_PATH "${p}")
  foreach(d "${p}/lib/pkgconfig" "${p}/lib/${CMAKE_LIBRARY_ARCHITECTURE}/pkgconfig")
    if(IS_DIRECTORY "${d}")
      list(APPEND _hab_pc "${d}")
    endif()
  endforeach()
endforeach()
if(_hab_pc)
  string(REPLACE ";" ":" _hab_pc "${_hab_pc}")
  if(DEFINED ENV{PKG_CONFIG_PATH} AND NOT "$ENV{PKG_CONFIG_PATH}" STREQUAL "")
    set(ENV{PKG_CONFIG_PATH} "${_hab_pc}:$ENV{PKG_CONFIG_PATH}")
  else()
    set(ENV{PKG_CONFIG_PATH} "${_hab_pc}")
  endif()
endif()
message(STATUS "release: PKG_CONFIG_PATH=$ENV{PKG_CONFIG_PATH}")
# libssh2: CMakeLists.txt takes its prefix from the cache variable
# HAB_LIBSSH2_PREFIX (default /opt/hab-deps/libssh2-1.11.1, the host's build);
# a release build uses this architecture's (from HAB_DEPS_PREFIXES). Set
# before CMakeLists.txt's own set(... CACHE ...), which then keeps it.
foreach(p IN LISTS HAB_DEPS_PREFIXES)
  if(p MATCHES "/libssh2-[^/]*$")
    set(HAB_LIBSSH2_PREFIX "${p}" CACHE PATH "libssh2 install (scripts/deps/libssh2.sh)" FORCE)
    message(STATUS "release: HAB_LIBSSH2_PREFIX=${p}")
  endif()
endforeach()
# find_package(OpenSSL): libssl.a/libcrypto.a, with their -ldl/-pthread.
set(OPENSSL_USE_STATIC_LIBS TRUE)

# ---- 3. pkg-config --static ---------------------------------------------------
set(PKG_CONFIG_ARGN "--static" CACHE STRING "Arguments to supply to pkg-config" FORCE)

# ---- 5. flags -------------------------------------------------------------------
add_compile_options(-fstack-protector-strong -Wformat -Werror=format-security
                    -ffunction-sections -fdata-sections)
# _FORTIFY_SOURCE needs optimisation; every release config has it.
add_compile_definitions($<$<NOT:$<CONFIG:Debug>>:_FORTIFY_SOURCE=2>)
add_link_options(-static-libstdc++ -static-libgcc -Wl,-z,relro -Wl,-z,now -Wl,--gc-sections -Wl,--as-needed)
set(CMAKE_SKIP_RPATH ON)

# ---- 4. static archives for every imported target --------------------------------
set(_HAB_GLIBC_LIBS c m dl pthread rt resolv util anl mvec)

# _hab_static_item(ITEM OUT): the static form of one link item.
function(_hab_static_item item out)
  set(r "${item}")
  if(item MATCHES "^(.*/)?lib([^/]+)\\.so(\\.[0-9]+)*$")
    set(dir "${CMAKE_MATCH_1}")
    set(name "${CMAKE_MATCH_2}")
    if(name IN_LIST _HAB_GLIBC_LIBS)
      set(r "${name}")
    elseif(EXISTS "${dir}lib${name}.a")
      set(r "${dir}lib${name}.a")
    else()
      message(FATAL_ERROR "release: ${item} has no static library next to it (${dir}lib${name}.a); "
                          "the release binary must not depend on it. Build it with scripts/deps/.")
    endif()
  elseif(item MATCHES "^(.*/)?lib([^/]+)\\.a$")
    set(name "${CMAKE_MATCH_2}")
    if(name IN_LIST _HAB_GLIBC_LIBS)  # libdl.a/libpthread.a stubs or a static libm: keep glibc dynamic
      set(r "${name}")
    endif()
  endif()
  set(${out} "${r}" PARENT_SCOPE)
endfunction()

function(_hab_release_make_static)
  get_property(targets DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  set(props IMPORTED_LOCATION)
  foreach(cfg NONE NOCONFIG RELEASE RELWITHDEBINFO MINSIZEREL DEBUG)
    list(APPEND props IMPORTED_LOCATION_${cfg})
  endforeach()
  set(report "")
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "SHARED_LIBRARY" OR type STREQUAL "UNKNOWN_LIBRARY" OR type STREQUAL "STATIC_LIBRARY")
      foreach(p IN LISTS props)
        get_target_property(loc ${t} ${p})
        if(loc)
          _hab_static_item("${loc}" new)
          if(NOT new STREQUAL loc)
            set_property(TARGET ${t} PROPERTY ${p} "${new}")
            list(APPEND report "${t}: ${new}")
          endif()
        endif()
      endforeach()
      if(type STREQUAL "SHARED_LIBRARY")
        # The location is an archive now: no soname to record.
        set_property(TARGET ${t} PROPERTY IMPORTED_NO_SONAME TRUE)
      endif()
    endif()
    if(NOT type STREQUAL "INTERFACE_LIBRARY" AND NOT type MATCHES "LIBRARY$")
      continue()
    endif()
    get_target_property(libs ${t} INTERFACE_LINK_LIBRARIES)
    if(libs)
      set(newlibs "")
      foreach(l IN LISTS libs)
        _hab_static_item("${l}" n)
        list(APPEND newlibs "${n}")
      endforeach()
      if(NOT newlibs STREQUAL libs)
        set_property(TARGET ${t} PROPERTY INTERFACE_LINK_LIBRARIES "${newlibs}")
        list(APPEND report "${t}: ${newlibs}")
      endif()
    endif()
  endforeach()
  list(LENGTH report n)
  message(STATUS "release: ${n} imported library locations switched to static archives")
  file(WRITE "${CMAKE_BINARY_DIR}/hab-release-static.txt" "")
  foreach(r IN LISTS report)
    file(APPEND "${CMAKE_BINARY_DIR}/hab-release-static.txt" "${r}\n")
  endforeach()
endfunction()
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _hab_release_make_static)
