# rpm-scripts.cmake - rpm scriptlets made from the Debian maintainer scripts:
# rpm passes a count ($1: 1 install, 2 upgrade; 0 when removed) where dpkg
# passes a word, so each rpm script maps it first, then runs the same body.
# On an upgrade rpm runs the new package's %post before the old one's
# %preun and %postun: the old %preun does nothing then, and the old %postun
# restarts a running service on the new binary. A removal (rpm -e) keeps
# state and configuration, as dpkg -r does (rpm has no purge).
set(_dir ${CMAKE_CURRENT_LIST_DIR})
set(_out ${CMAKE_BINARY_DIR}/packaging/rpm)
file(MAKE_DIRECTORY ${_out})
# one variable per script, quoted wherever used: a list would split at ";"
set(_map_post "if [ \"$1\" -ge 2 ]; then set -- configure 1; else set -- configure; fi")
set(_map_preun "if [ \"$1\" -ge 1 ]; then exit 0; fi\nset -- remove")
set(_map_postun "if [ \"$1\" -ge 1 ]; then\n    systemctl try-restart rdm-agent.service >/dev/null 2>&1 || true\n    exit 0\nfi\nset -- remove")
foreach(_rpm post preun postun)
  if(_rpm STREQUAL "post")
    set(_deb postinst)
  elseif(_rpm STREQUAL "preun")
    set(_deb prerm)
  else()
    set(_deb postrm)
  endif()
  file(READ ${_dir}/${_deb} _body)
  string(REPLACE "#!/bin/sh\n" "" _body "${_body}")
  # rpm systems have systemctl, not Debian's helpers
  string(REPLACE "deb-systemd-helper" "systemctl" _body "${_body}")
  string(REPLACE "deb-systemd-invoke" "systemctl" _body "${_body}")
  file(WRITE ${_out}/${_rpm}.sh "${_map_${_rpm}}\n${_body}")
endforeach()
