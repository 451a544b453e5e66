// The table of the pixsyn program's subcommands: a new subcommand is a file and one row here.
#include "subcommands.hpp"

#include <vector>

namespace pixsyn::cli {

std::span<const Subcommand> subcommands() {
  static const std::vector<Subcommand> table{
      info_subcommand(),    render_subcommand(), consistency_subcommand(), train_subcommand(),    panorama_subcommand(),
      convert_subcommand(), fid_subcommand(),    eval_subcommand(),        spectrum_subcommand(), plot_subcommand(),
  };
  return table;
}

}  // namespace pixsyn::cli
