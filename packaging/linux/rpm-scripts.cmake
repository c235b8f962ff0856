# rpm-scripts.cmake - rpm scriptlets made from the Debian maintainer scripts:
# rpm passes a count ($1: 1 install, 2 upgrade; 0 when removed) where dpkg
# passes a word, so each rpm script maps it first, then runs the same body.
set(_dir ${CMAKE_CURRENT_LIST_DIR})
set(_out ${CMAKE_BINARY_DIR}/packaging/rpm)
file(MAKE_DIRECTORY ${_out})
foreach(pair "post;postinst;if [ \"$1\" -ge 2 ]; then set -- configure 1; else set -- configure; fi"
             "preun;prerm;if [ \"$1\" -eq 0 ]; then set -- remove; else set -- upgrade; fi"
             "postun;postrm;if [ \"$1\" -eq 0 ]; then set -- purge; else set -- upgrade; fi")
  list(GET pair 0 _rpm)
  list(GET pair 1 _deb)
  list(GET pair 2 _map)
  file(READ ${_dir}/${_deb} _body)
  string(REPLACE "#!/bin/sh\n" "" _body "${_body}")
  # rpm systems have systemctl, not Debian's helpers
  string(REPLACE "deb-systemd-helper" "systemctl" _body "${_body}")
  string(REPLACE "deb-systemd-invoke" "systemctl" _body "${_body}")
  file(WRITE ${_out}/${_rpm}.sh "${_map}\n${_body}")
endforeach()
