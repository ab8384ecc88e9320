# Writes the admin UI's index.html for offline use: the icon font's stylesheet from the CDN is
# replaced by the pinned npm copy staged beside it (mdi/), and the Google Fonts stylesheet (Roboto;
# the page falls back to the system's sans-serif) is dropped, so that the page makes no request
# outside the node that serves it. Run as: cmake -DIN=... -DOUT=... -P admin_index.cmake
file(READ "${IN}" html)
set(cdn "https://cdn.jsdelivr.net/npm/@mdi/font@latest/css/materialdesignicons.min.css")
string(FIND "${html}" "${cdn}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${IN}: the icon font link was not found; check the admin UI version")
endif()
string(REPLACE "${cdn}" "mdi/css/materialdesignicons.min.css" html "${html}")
string(REGEX REPLACE "<link rel=\"stylesheet\" href=\"https://fonts.googleapis.com/[^\"]*\">" "" html "${html}")
if(html MATCHES "https://")
  message(FATAL_ERROR "${IN}: a remote resource is left in the admin UI's page")
endif()
file(WRITE "${OUT}" "${html}")
