# FindOpenCV: OpenCV 4 for the vision module.
#
# Debian 12 ships OpenCVConfig.cmake (and opencv4.pc) only in the libopencv-dev meta package,
# which pulls ~150 further packages (highgui, viz/VTK, Qt, ...). confide needs four modules, so
# scripts/install-deps.sh installs only the narrow packages libopencv-{core,imgproc,imgcodecs,
# dnn}-dev, which hold the headers and libraries but no CMake config. This module uses the
# config file when one is installed and otherwise finds the headers and the requested
# libraries itself, defining the same imported targets (opencv_<component>) and variables
# (OpenCV_FOUND, OpenCV_VERSION, OpenCV_INCLUDE_DIRS, OpenCV_LIBS).
find_package(OpenCV CONFIG QUIET COMPONENTS ${OpenCV_FIND_COMPONENTS})
if(OpenCV_FOUND)
  return()
endif()

find_path(OpenCV_INCLUDE_DIR opencv2/core/version.hpp PATH_SUFFIXES opencv4)
if(OpenCV_INCLUDE_DIR AND EXISTS "${OpenCV_INCLUDE_DIR}/opencv2/core/version.hpp")
  file(STRINGS "${OpenCV_INCLUDE_DIR}/opencv2/core/version.hpp" _ocv_ver
       REGEX "^#define CV_VERSION_(MAJOR|MINOR|REVISION) +[0-9]+")
  foreach(_part MAJOR MINOR REVISION)
    string(REGEX REPLACE ".*#define CV_VERSION_${_part} +([0-9]+).*" "\\1" _v_${_part}
           "${_ocv_ver}")
  endforeach()
  set(OpenCV_VERSION "${_v_MAJOR}.${_v_MINOR}.${_v_REVISION}")
endif()

set(OpenCV_LIBS)
set(_ocv_required_vars OpenCV_INCLUDE_DIR)
foreach(_c IN LISTS OpenCV_FIND_COMPONENTS)
  find_library(OpenCV_${_c}_LIBRARY opencv_${_c})
  if(OpenCV_${_c}_LIBRARY)
    set(OpenCV_${_c}_FOUND TRUE)
    if(NOT TARGET opencv_${_c})
      add_library(opencv_${_c} SHARED IMPORTED)
      set_target_properties(opencv_${_c} PROPERTIES
        IMPORTED_LOCATION "${OpenCV_${_c}_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${OpenCV_INCLUDE_DIR}")
    endif()
    list(APPEND OpenCV_LIBS opencv_${_c})
  endif()
  if(OpenCV_FIND_REQUIRED_${_c})
    list(APPEND _ocv_required_vars OpenCV_${_c}_LIBRARY)
  endif()
endforeach()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenCV
  REQUIRED_VARS ${_ocv_required_vars}
  VERSION_VAR OpenCV_VERSION
  HANDLE_COMPONENTS)
set(OpenCV_INCLUDE_DIRS "${OpenCV_INCLUDE_DIR}")
mark_as_advanced(OpenCV_INCLUDE_DIR)
