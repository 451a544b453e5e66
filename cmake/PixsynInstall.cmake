# install() + an exported package so that find_package(pixsyn CONFIG REQUIRED) works; with
# PIXSYN_CUDA=ON, find_package(pixsyn CONFIG REQUIRED COMPONENTS cuda) also gives pixsyn::cuda.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY include/pixsyn DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS pixsyn EXPORT pixsynTargets)
install(EXPORT pixsynTargets NAMESPACE pixsyn:: DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/pixsyn)
if(TARGET pixsyn_cuda)
  install(TARGETS pixsyn_cuda EXPORT pixsynCudaTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT pixsynCudaTargets NAMESPACE pixsyn:: DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/pixsyn)
endif()
configure_package_config_file(cmake/pixsynConfig.cmake.in "${CMAKE_CURRENT_BINARY_DIR}/pixsynConfig.cmake"
                              INSTALL_DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/pixsyn)
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/pixsynConfigVersion.cmake"
                                 COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/pixsynConfig.cmake" "${CMAKE_CURRENT_BINARY_DIR}/pixsynConfigVersion.cmake"
              cmake/PixsynDependencies.cmake DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/pixsyn)
