# CPACK_PRE_BUILD_SCRIPTS when help2man was not found at configure time: no package without its
# man page.
message(FATAL_ERROR "help2man is missing, so the package would have no man page: "
                    "install it (bash scripts/setup.sh) and configure again")
