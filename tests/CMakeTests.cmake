# Whole-project checks: the installed package works, every public header compiles alone, layering holds.
add_test(NAME install_consumer
         COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DBUILD_DIR=${PROJECT_BINARY_DIR}
                 -DWORK_DIR=${PROJECT_BINARY_DIR}/consumer -P ${CMAKE_CURRENT_SOURCE_DIR}/consumer/run.cmake)
add_test(NAME headers_self_contained
         COMMAND bash ${PROJECT_SOURCE_DIR}/tools/check-headers.sh ${CMAKE_CXX_COMPILER})
add_test(NAME layering COMMAND bash ${PROJECT_SOURCE_DIR}/tools/check-layering.sh)
set_tests_properties(headers_self_contained layering PROPERTIES WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
