# Writes version.h with the project version and the short commit SHA.
execute_process(COMMAND git -C ${SRC} rev-parse --short HEAD OUTPUT_VARIABLE SHA
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR SHA STREQUAL "")
  set(SHA "unknown")
endif()
execute_process(COMMAND git -C ${SRC} status --porcelain --untracked-files=no
                OUTPUT_VARIABLE DIRTY ERROR_QUIET)
if(NOT DIRTY STREQUAL "")
  set(SHA "${SHA}-dirty")
endif()
set(CONTENT "#pragma once\n#define HAB_VERSION \"${VERSION}\"\n#define HAB_COMMIT \"${SHA}\"\n")
if(EXISTS ${OUT})
  file(READ ${OUT} OLD)
endif()
if(NOT "${OLD}" STREQUAL "${CONTENT}")
  file(WRITE ${OUT} "${CONTENT}")
endif()
