# Reads native/build-settings.json, the one description of the addon's sources and flags that
# binding.gyp reads too (through scripts/native-sources.js), and sets:
#   SPHEREFACE_CORE_SOURCES (every native .cc but the two addons' own), SPHEREFACE_PRODUCTION_SOURCES,
#   SPHEREFACE_TESTING_SOURCES, SPHEREFACE_DEFINES, SPHEREFACE_CXXFLAGS, SPHEREFACE_LDFLAGS.
set(_settings_file ${CMAKE_CURRENT_SOURCE_DIR}/native/build-settings.json)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_settings_file})
file(READ ${_settings_file} _settings)

function(_sphereface_json_list out key)
  string(JSON _count LENGTH "${_settings}" ${key})
  set(_items "")
  if(_count GREATER 0)
    math(EXPR _last "${_count} - 1")
    foreach(_i RANGE ${_last})
      string(JSON _item GET "${_settings}" ${key} ${_i})
      list(APPEND _items "${_item}")
    endforeach()
  endif()
  set(${out} "${_items}" PARENT_SCOPE)
endfunction()

_sphereface_json_list(SPHEREFACE_DEFINES defines)
_sphereface_json_list(SPHEREFACE_CXXFLAGS cxxflags)
_sphereface_json_list(SPHEREFACE_LDFLAGS ldflags)
string(JSON _production_entry GET "${_settings}" productionEntry)
string(JSON _testing_dir GET "${_settings}" testingDir)

file(GLOB_RECURSE _all_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/native/*.cc)
set(SPHEREFACE_CORE_SOURCES ${_all_sources})
list(FILTER SPHEREFACE_CORE_SOURCES EXCLUDE REGEX "^${CMAKE_CURRENT_SOURCE_DIR}/${_testing_dir}/")
list(REMOVE_ITEM SPHEREFACE_CORE_SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/${_production_entry})
set(SPHEREFACE_PRODUCTION_SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/${_production_entry})
set(SPHEREFACE_TESTING_SOURCES ${_all_sources})
list(FILTER SPHEREFACE_TESTING_SOURCES INCLUDE REGEX "^${CMAKE_CURRENT_SOURCE_DIR}/${_testing_dir}/")
