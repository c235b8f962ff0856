# CPack.cmake - Linux packages (.deb, .rpm): the binaries, the man page,
# the profiles, the production configuration template (a conffile), the
# systemd unit, and the maintainer scripts of packaging/linux. Included by
# the top CMakeLists.txt on Linux; `cpack -G DEB` / `cpack -G RPM` in a
# build configured with -DCMAKE_INSTALL_PREFIX=/usr.
set(_pk ${CMAKE_SOURCE_DIR}/packaging/linux)

# the configuration template (conf/rdm-agent.ini with the service's settings)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/packaging/rdm-agent.ini
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/packaging
  COMMAND sh ${CMAKE_SOURCE_DIR}/packaging/make-config.sh ${CMAKE_SOURCE_DIR}/conf/rdm-agent.ini
          ${CMAKE_BINARY_DIR}/packaging/rdm-agent.ini linux
  DEPENDS ${CMAKE_SOURCE_DIR}/packaging/make-config.sh ${CMAKE_SOURCE_DIR}/conf/rdm-agent.ini
  VERBATIM)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/packaging/rdm-agent.1.gz
                          ${CMAKE_BINARY_DIR}/packaging/rdm-datamart-emulator.1.gz
                          ${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz
  COMMAND gzip -9n -c ${_pk}/rdm-agent.1 > ${CMAKE_BINARY_DIR}/packaging/rdm-agent.1.gz
  COMMAND gzip -9n -c ${_pk}/rdm-datamart-emulator.1 > ${CMAKE_BINARY_DIR}/packaging/rdm-datamart-emulator.1.gz
  COMMAND gzip -9n -c ${_pk}/changelog > ${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz
  DEPENDS ${_pk}/rdm-agent.1 ${_pk}/rdm-datamart-emulator.1 ${_pk}/changelog VERBATIM)
add_custom_target(packaging_files ALL DEPENDS ${CMAKE_BINARY_DIR}/packaging/rdm-agent.ini
                                              ${CMAKE_BINARY_DIR}/packaging/rdm-agent.1.gz)

# 0644 in the package (it holds no secret yet); postinst makes it 0640 root:rdm-agent
install(FILES ${CMAKE_BINARY_DIR}/packaging/rdm-agent.ini DESTINATION /etc/rdm-agent)
install(FILES ${_pk}/rdm-agent.service DESTINATION lib/systemd/system)
install(FILES ${CMAKE_BINARY_DIR}/packaging/rdm-agent.1.gz
              ${CMAKE_BINARY_DIR}/packaging/rdm-datamart-emulator.1.gz
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${_pk}/copyright ${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz
              ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_PACKAGE_NAME rdm-agent)
set(CPACK_PACKAGE_VENDOR "rdm-agent developers")
set(CPACK_PACKAGE_CONTACT "rdm-agent developers <packaging@rdm-agent.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "delivers school product data to the regional datamart")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "rdm-agent pulls product data from PostgreSQL or CSV dumps into a local
SQLite store, detects changes, writes export files in the ministry's format
and uploads them to the regional datamart whenever it is reachable, with
nothing lost and nothing sent twice across crashes, outages and full disks.")
set(CPACK_RPM_PACKAGE_DESCRIPTION "rdm-agent pulls product data from PostgreSQL or CSV dumps into a local
SQLite store, detects changes, writes export files in the ministry's format
and uploads them to the regional datamart whenever it is reachable.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${_pk}/postinst ${_pk}/prerm ${_pk}/postrm ${_pk}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(${_pk}/rpm-scripts.cmake)
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_LICENSE "Proprietary")
set(CPACK_RPM_PACKAGE_GROUP "Applications/System")
set(CPACK_RPM_PACKAGE_AUTOREQ ON)
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE ${CMAKE_BINARY_DIR}/packaging/rpm/post.sh)
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE ${CMAKE_BINARY_DIR}/packaging/rpm/preun.sh)
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE ${CMAKE_BINARY_DIR}/packaging/rpm/postun.sh)
set(CPACK_RPM_USER_FILELIST "%config(noreplace) /etc/rdm-agent/rdm-agent.ini")
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION /etc /lib /lib/systemd /lib/systemd/system
    /usr/share/man /usr/share/man/man1 /usr/share/doc)

set(CPACK_GENERATOR DEB RPM)
include(CPack)
