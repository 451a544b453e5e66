#pragma once
// The subcommands of the pixsyn program, each defined in its own file.
#include <span>

#include "command.hpp"

namespace pixsyn::cli {

Subcommand info_subcommand();
Subcommand render_subcommand();
Subcommand consistency_subcommand();
Subcommand train_subcommand();
Subcommand panorama_subcommand();
Subcommand convert_subcommand();
Subcommand fid_subcommand();
Subcommand eval_subcommand();
Subcommand spectrum_subcommand();
Subcommand plot_subcommand();

// The table the program dispatches on, in the order --help lists them.
std::span<const Subcommand> subcommands();

}  // namespace pixsyn::cli
