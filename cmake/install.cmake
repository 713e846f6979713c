# Installation: the binary, libveritee.so.0 (every layer in one shared library, only the vt_
# API exported), the public headers with the umbrella veritee/veritee.h, veritee.pc, the systemd
# unit, the Prometheus rules and Grafana dashboard, docs, man pages and shell completion.
include(GNUInstallDirs)

# The umbrella header includes every layer's public headers (and nothing else), so it cannot
# drift from cmake/layers.cmake. It belongs to no layer: no layer code includes it.
set(VT_UMBRELLA ${PROJECT_SOURCE_DIR}/include/veritee/veritee.h)
file(READ ${VT_UMBRELLA} vt_umbrella_text)
string(REGEX MATCHALL "#include \"veritee/[a-z0-9_]+\\.h\"" vt_umbrella_incs "${vt_umbrella_text}")
set(vt_umbrella_have "")
foreach(i ${vt_umbrella_incs})
  string(REGEX REPLACE "#include \"veritee/([a-z0-9_]+)\\.h\"" "\\1" h "${i}")
  list(APPEND vt_umbrella_have ${h})
endforeach()
set(vt_umbrella_want "")
foreach(l ${VT_LAYERS})
  list(APPEND vt_umbrella_want ${VT_LAYER_${l}_HEADERS})
endforeach()
list(SORT vt_umbrella_have)
list(SORT vt_umbrella_want)
if(NOT vt_umbrella_have STREQUAL vt_umbrella_want)
  message(FATAL_ERROR "include/veritee/veritee.h must include exactly the layers' public headers (scripts/gen-umbrella rewrites it)\n"
                      "  has:  ${vt_umbrella_have}\n  want: ${vt_umbrella_want}")
endif()

# libveritee.so: the layers' archives linked whole into one shared object. The CLI keeps linking
# the archives (no run-time relocation of the library: `veritee verify` starts in ~2 ms).
option(VT_SHARED "Build libveritee.so" ON)
if(VT_SHARED AND NOT VT_FUZZ)
  # Raw --whole-archive around the archives (CMake's WHOLE_ARCHIVE feature refuses the layers'
  # transitive links to each other); the outside libraries are linked by name as usual.
  add_library(veritee_shared SHARED ${PROJECT_SOURCE_DIR}/packaging/empty.c)
  set(vt_whole "")
  foreach(l ${VT_LAYERS})
    list(APPEND vt_whole "$<TARGET_FILE:vt_${l}>")
    add_dependencies(veritee_shared vt_${l})
  endforeach()
  target_link_libraries(veritee_shared PRIVATE "-Wl,--whole-archive" ${vt_whole} "-Wl,--no-whole-archive"
                        PkgConfig::JANSSON OpenSSL::Crypto ${CMAKE_DL_LIBS} Threads::Threads m)
  set_target_properties(veritee_shared PROPERTIES
    OUTPUT_NAME veritee
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR}
    C_VISIBILITY_PRESET hidden
    LINK_DEPENDS ${PROJECT_SOURCE_DIR}/cmake/libveritee.map)
  target_link_options(veritee_shared PRIVATE
    "LINKER:--version-script=${PROJECT_SOURCE_DIR}/cmake/libveritee.map")
  if(NOT VT_SANITIZE)
    target_link_options(veritee_shared PRIVATE "LINKER:--no-undefined" "LINKER:-z,defs" "LINKER:--as-needed")
  endif()
  install(TARGETS veritee_shared
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lib NAMELINK_COMPONENT dev)
endif()

install(TARGETS veritee-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT bin)
install(FILES ${VT_PUBLIC_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/veritee COMPONENT dev)

# pkg-config: the public headers include <jansson.h> and <openssl/...>, so their flags are
# public (Requires); libm, libdl and pthreads are the library's own business (SQLite, like libpq,
# is dlopen()ed: nothing to link).
# The prefix is found from the .pc file's own place, so the same file works installed under
# any prefix or DESTDIR (cmake --install --prefix, a package's staging directory).
set(vt_pcdir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
if(IS_ABSOLUTE "${vt_pcdir}")
  file(RELATIVE_PATH vt_pcdir "${CMAKE_INSTALL_PREFIX}" "${vt_pcdir}")
endif()
string(REGEX REPLACE "[^/]+" ".." VT_PC_UP "${vt_pcdir}")
set(VT_PC_PREFIX "\${pcfiledir}/${VT_PC_UP}")
set(VT_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
set(VT_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
configure_file(${PROJECT_SOURCE_DIR}/packaging/veritee.pc.in ${CMAKE_BINARY_DIR}/veritee.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/veritee.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# Service files and operations material.
set(VT_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING "where the systemd unit goes (relative to the prefix)")
install(FILES ${PROJECT_SOURCE_DIR}/packaging/systemd/veritee.service
              ${PROJECT_SOURCE_DIR}/packaging/systemd/veritee-audit-archive.service
              ${PROJECT_SOURCE_DIR}/packaging/systemd/veritee-audit-archive.timer
        DESTINATION ${VT_SYSTEMD_UNITDIR} COMPONENT bin)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/systemd/veritee.env
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/veritee/examples COMPONENT bin)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/prometheus/veritee-alerts.yml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/veritee/prometheus COMPONENT bin)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/grafana/veritee-dashboard.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/veritee/grafana COMPONENT bin)
file(GLOB VT_DOCS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${VT_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT bin)

# Man pages and shell completion, generated from the built binary's own help (scripts/gen-man).
# Not in fuzzing builds (the instrumented program is not the one installed).
if(NOT VT_FUZZ)
  find_program(VT_PYTHON3 python3 REQUIRED)
  set(VT_MAN_DIR ${CMAKE_BINARY_DIR}/man)
  add_custom_command(OUTPUT ${VT_MAN_DIR}/stamp
                     COMMAND ${CMAKE_COMMAND} -E rm -rf ${VT_MAN_DIR}
                     COMMAND ${VT_PYTHON3} ${PROJECT_SOURCE_DIR}/scripts/gen-man --bin $<TARGET_FILE:veritee-cli>
                             --out ${VT_MAN_DIR} --version ${PROJECT_VERSION}
                     COMMAND ${CMAKE_COMMAND} -E touch ${VT_MAN_DIR}/stamp
                     DEPENDS veritee-cli ${PROJECT_SOURCE_DIR}/scripts/gen-man
                     COMMENT "Generating man pages and shell completion from veritee's help")
  add_custom_target(veritee-man ALL DEPENDS ${VT_MAN_DIR}/stamp)
  install(DIRECTORY ${VT_MAN_DIR}/man1 ${VT_MAN_DIR}/man8 DESTINATION ${CMAKE_INSTALL_MANDIR} COMPONENT bin
          FILES_MATCHING PATTERN "*.[18]")
  install(FILES ${VT_MAN_DIR}/completion/veritee.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
          RENAME veritee COMPONENT bin)
  install(FILES ${VT_MAN_DIR}/completion/_veritee DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions
          COMPONENT bin)
endif()
