# install() + an exported package so that find_package(pixsyn CONFIG REQUIRED) works.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY include/pixsyn DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS pixsyn EXPORT pixsynTargets)
install(EXPORT pixsynTargets NAMESPACE pixsyn:: DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/pixsyn)
configure_package_config_file(cmake/pixsynConfig.cmake.in "${CMAKE_CURRENT_BINARY_DIR}/pixsynConfig.cmake"
                              INSTALL_DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/pixsyn)
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/pixsynConfigVersion.cmake"
                                 COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/pixsynConfig.cmake" "${CMAKE_CURRENT_BINARY_DIR}/pixsynConfigVersion.cmake"
              cmake/PixsynDependencies.cmake DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/pixsyn)
