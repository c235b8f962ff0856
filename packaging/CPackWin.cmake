# CPackWin.cmake - the Windows setup program (NSIS, 64-bit) and the portable
# zip. Setup installs rdm-agent.exe under Program Files, the configuration
# template and the profiles; makes %ProgramData%\rdm-agent with a
# configuration (kept if one is there), registers and starts the service;
# the uninstaller stops and removes the service and keeps configuration and
# data unless the user asks (a question; /S keeps them).
set(_w ${CMAKE_SOURCE_DIR}/packaging/windows)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/packaging/rdm-agent.ini
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/packaging
  COMMAND sh ${CMAKE_SOURCE_DIR}/packaging/make-config.sh ${CMAKE_SOURCE_DIR}/conf/rdm-agent.ini
          ${CMAKE_BINARY_DIR}/packaging/rdm-agent.ini windows
  DEPENDS ${CMAKE_SOURCE_DIR}/packaging/make-config.sh ${CMAKE_SOURCE_DIR}/conf/rdm-agent.ini
  VERBATIM)
add_custom_target(packaging_files ALL DEPENDS ${CMAKE_BINARY_DIR}/packaging/rdm-agent.ini)
install(FILES ${CMAKE_BINARY_DIR}/packaging/rdm-agent.ini DESTINATION share/rdm-agent)
# mbed TLS cannot read the Windows certificate store: Debian's CA bundle ships
if(EXISTS /etc/ssl/certs/ca-certificates.crt)
  install(FILES /etc/ssl/certs/ca-certificates.crt DESTINATION share/rdm-agent
          RENAME ca-bundle.pem)
endif()
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION share/doc/rdm-agent)

set(CPACK_PACKAGE_NAME rdm-agent)
set(CPACK_PACKAGE_VENDOR "rdm-agent developers")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_INSTALL_DIRECTORY rdm-agent)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "delivers school product data to the regional datamart")
set(CPACK_STRIP_FILES ON)
set(CPACK_NSIS_DEFINES "Target amd64-unicode")
set(CPACK_NSIS_INSTALL_ROOT "$PROGRAMFILES64")
set(CPACK_NSIS_PACKAGE_NAME "rdm-agent")
set(CPACK_NSIS_DISPLAY_NAME "rdm-agent")
set(CPACK_NSIS_ENABLE_UNINSTALL_BEFORE_INSTALL ON)
# %ProgramData%\rdm-agent holds the configuration (passwords) and the inbox
# (what the service, as LocalSystem, imports): icacls gives it to SYSTEM and
# Administrators only, by SID (group names are translated on a Russian
# Windows), instead of ProgramData's inherited rights, where Users may read
# files and create them in subfolders.
set(CPACK_NSIS_EXTRA_INSTALL_COMMANDS "
  SetShellVarContext all
  CreateDirectory '$APPDATA\\\\rdm-agent'
  CreateDirectory '$APPDATA\\\\rdm-agent\\\\log'
  CreateDirectory '$APPDATA\\\\rdm-agent\\\\inbox'
  nsExec::ExecToLog '\\\"$SYSDIR\\\\icacls.exe\\\" \\\"$APPDATA\\\\rdm-agent\\\" /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F /T /Q'
  IfFileExists '$APPDATA\\\\rdm-agent\\\\rdm-agent.ini' +2 0
    CopyFiles /SILENT '$INSTDIR\\\\share\\\\rdm-agent\\\\rdm-agent.ini' '$APPDATA\\\\rdm-agent\\\\rdm-agent.ini'
  nsExec::ExecToLog '\\\"$INSTDIR\\\\bin\\\\rdm-agent.exe\\\" --config \\\"$APPDATA\\\\rdm-agent\\\\rdm-agent.ini\\\" init'
  nsExec::ExecToLog '\\\"$INSTDIR\\\\bin\\\\rdm-agent.exe\\\" --config \\\"$APPDATA\\\\rdm-agent\\\\rdm-agent.ini\\\" service install'
  nsExec::ExecToLog '\\\"$INSTDIR\\\\bin\\\\rdm-agent.exe\\\" service start'
")
set(CPACK_NSIS_EXTRA_UNINSTALL_COMMANDS "
  SetShellVarContext all
  nsExec::ExecToLog '\\\"$INSTDIR\\\\bin\\\\rdm-agent.exe\\\" service uninstall'
  IfSilent +3
  MessageBox MB_YESNO 'Delete the configuration and the data in $APPDATA\\\\rdm-agent as well?' IDNO +2
    RMDir /r '$APPDATA\\\\rdm-agent'
")
set(CPACK_GENERATOR NSIS ZIP)
include(CPack)
