// segctl import cdnow|retail|csv FILE.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "clients/import/cdnow_mapping.h"
#include "clients/import/column_mapping.h"
#include "clients/import/import_checkpoint.h"
#include "clients/import/importer.h"
#include "clients/import/retail_mapping.h"
#include "clients/segctl/bulk_ingest_sink.h"
#include "clients/segctl/command.h"
#include "clients/segctl/progress_bar.h"
#include "google/protobuf/struct.pb.h"

namespace segmentd::segctl {
namespace {

// Batches in flight at once: enough to keep the server's Redis pipelines
// full (one stream leaves it idle between a batch's acknowledgement and the
// next batch), and half the server's default per-tenant stream limit, so a
// second import of the same tenant still fits.
constexpr int kDefaultStreams = 4;

std::string Basename(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Draws the progress line on stderr at most every 200 ms.
class ProgressLine {
 public:
  ProgressLine(std::ostream& err, bool enabled, bool tty) : err_(err), enabled_(enabled), tty_(tty) {}
  // `final_update`: the import is over; `finished`: and every order it sent
  // was acknowledged (only then does the bar show 100%).
  void Update(const clients::ImportProgress& p, bool final_update, bool finished = false) {
    if (!enabled_) return;
    const absl::Time now = absl::Now();
    if (!final_update && now - last_ < (tty_ ? absl::Milliseconds(200) : absl::Seconds(2))) return;
    last_ = now;
    err_ << (tty_ ? "\r\033[K" : "") << RenderProgress(p, now - start_, finished)
         << (tty_ && !final_update ? "" : "\n");
    err_.flush();
  }

 private:
  std::ostream& err_;
  const bool enabled_;
  const bool tty_;
  const absl::Time start_ = absl::Now();
  absl::Time last_ = absl::InfinitePast();
};

int Import(const Context& ctx) {
  const std::string kind = ctx.args->positional()[0];
  const std::string file = ctx.args->positional()[1];
  std::unique_ptr<clients::OrderMapping> mapping;
  std::string mapping_id = kind;
  if (kind == "cdnow") {
    mapping = std::make_unique<clients::CdnowMapping>();
  } else if (kind == "retail") {
    mapping = std::make_unique<clients::RetailMapping>();
  } else if (kind == "csv") {
    clients::ColumnMapping::Options o;
    o.columns = ctx.args->Get("columns");
    const std::string delimiter = ctx.args->Get("delimiter", ",");
    if (delimiter.size() != 1 && delimiter != "\\t") return ctx.Usage("--delimiter is one character (or \\t)");
    o.delimiter = delimiter == "\\t" ? '\t' : delimiter[0];
    absl::StatusOr<bool> header = ctx.args->GetBool("header", true);
    if (!header.ok()) return ctx.Usage(std::string(header.status().message()));
    o.header = *header;
    absl::StatusOr<std::unique_ptr<clients::ColumnMapping>> m = clients::ColumnMapping::Create(o);
    if (!m.ok()) return ctx.Usage(std::string(m.status().message()));
    mapping = *std::move(m);
    mapping_id = absl::StrCat("csv ", o.columns, " delimiter=", delimiter, " header=", o.header);
  } else {
    return ctx.Usage(absl::StrCat("unknown format \"", kind, "\": cdnow, retail or csv"));
  }
  clients::ImportOptions options;
  const std::string on_error = ctx.args->Get("on_error", "skip");
  if (on_error != "skip" && on_error != "stop") return ctx.Usage("--on_error is skip or stop");
  options.on_error = on_error == "stop" ? clients::OnError::kStop : clients::OnError::kSkip;
  if (ctx.args->Has("batch_size") &&
      (!absl::SimpleAtoi(ctx.args->Get("batch_size"), &options.batch_size) || options.batch_size < 1 ||
       options.batch_size > 1000)) {
    return ctx.Usage("--batch_size is in 1..1000");
  }
  int streams = kDefaultStreams;
  if (ctx.args->Has("streams") &&
      (!absl::SimpleAtoi(ctx.args->Get("streams"), &streams) || streams < 1 || streams > 8)) {
    return ctx.Usage("--streams is in 1..8");
  }
  absl::StatusOr<bool> resume = ctx.args->GetBool("resume");
  if (!resume.ok()) return ctx.Usage(std::string(resume.status().message()));
  absl::StatusOr<bool> unterminated = ctx.args->GetBool("allow_unterminated");
  if (!unterminated.ok()) return ctx.Usage(std::string(unterminated.status().message()));
  const std::string progress_mode = ctx.args->Get("progress", "auto");
  if (progress_mode != "auto" && progress_mode != "on" && progress_mode != "off") {
    return ctx.Usage("--progress is auto, on or off");
  }

  struct stat st;
  std::ifstream in(file, std::ios::binary);
  if (!in || stat(file.c_str(), &st) != 0) {
    return ctx.Fail(absl::NotFoundError(absl::StrCat("cannot read ", file)));
  }
  // A file cut short (an interrupted download or copy) ends inside a line.
  // Imported, it would store partial orders (a retail invoice's lines are
  // spread over the file, a cut amount reads as another amount), which the
  // whole file cannot correct later: an order id's first version wins. So it
  // is refused before anything is sent.
  if (st.st_size > 0 && !*unterminated) {
    in.seekg(-1, std::ios::end);
    const int last = in.get();
    in.clear();
    in.seekg(0);
    if (last != '\n') {
      return ctx.Fail(absl::FailedPreconditionError(absl::StrCat(
          file,
          " does not end with a newline: it may be cut short, and its last orders would be "
          "stored partial for good; nothing was imported (if the file is whole, add a final "
          "newline or pass --allow_unterminated)")));
    }
  }
  clients::ImportCheckpoint checkpoint;
  checkpoint.source = file;
  checkpoint.source_bytes = st.st_size;
  checkpoint.mapping = mapping_id;
  // Where the orders go, recorded with the progress (the key's id, never its
  // secret). A key file that cannot be read fails as it does for every
  // command (Connect says which setting named it), before --resume is
  // weighed.
  std::string api_key;
  if (!ctx.key_file.empty()) {
    absl::StatusOr<std::string> key = clients::ReadApiKeyFile(ctx.key_file);
    if (!key.ok()) return ctx.Fail(ctx.Connect().status());
    api_key = *std::move(key);
  }
  checkpoint.destination = clients::ImportDestination(ctx.target, api_key);
  std::string progress_file = ctx.args->Get("progress_file");
  if (progress_file.empty()) {
    mkdir(".segmentd", 0700);
    progress_file = absl::StrCat(".segmentd/import-", Basename(file), ".", kind, ".progress");
  }
  if (*resume) {
    absl::StatusOr<clients::ImportCheckpoint> previous = clients::ReadCheckpoint(progress_file);
    if (previous.ok()) {
      if (!previous->SameImport(checkpoint)) {
        return ctx.Fail(absl::FailedPreconditionError(
            absl::StrCat(progress_file, " records an import of ", previous->source, " (",
                         previous->source_bytes, " bytes, mapping \"", previous->mapping, "\") to ",
                         previous->destination.empty() ? "a server and key it does not name"
                                                       : previous->destination,
                         ", not this one (", checkpoint.source, ", ", checkpoint.source_bytes,
                         " bytes, to ", checkpoint.destination, "); remove it or drop --resume")));
      }
      options.resume_after_orders = previous->orders_acked;
      if (!ctx.json) {
        *ctx.err << "resuming after " << previous->orders_acked << " acknowledged orders (line "
                 << previous->last_line << ")\n";
      }
    } else if (previous.status().code() != absl::StatusCode::kNotFound) {
      return ctx.Fail(previous.status());
    }
  }

  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  // One BulkIngest stream per batch in flight (each opens on its first
  // batch, so a small file or --on_error=stop opens only those it uses).
  std::vector<std::unique_ptr<BulkIngestSink>> sinks;
  std::vector<clients::OrderSink*> sink_list;
  for (int i = 0; i < streams; ++i) {
    sinks.push_back(std::make_unique<BulkIngestSink>(client->get()));
    sink_list.push_back(sinks.back().get());
  }
  auto finish_streams = [&] {
    absl::Status first;
    for (const std::unique_ptr<BulkIngestSink>& sink : sinks) first.Update(sink->Finish());
    return first;
  };

  const bool tty = isatty(STDERR_FILENO) != 0;
  ProgressLine progress(*ctx.err, progress_mode == "on" || (progress_mode == "auto" && tty), tty);
  absl::Status checkpoint_error;
  options.on_acknowledged = [&](int64_t acked, int64_t line) {
    checkpoint.orders_acked = acked;
    checkpoint.last_line = line;
    absl::Status s = clients::WriteCheckpoint(progress_file, checkpoint);
    if (!s.ok() && checkpoint_error.ok()) checkpoint_error = s;
  };
  options.on_progress = [&](const clients::ImportProgress& p) { progress.Update(p, false); };
  // Streams the server refused (its per-tenant limit, other imports): the
  // import goes on with the others, and says so once it ends.
  int refused_streams = 0;
  std::string refusal;
  options.on_sink_retired = [&](const absl::Status& why, size_t) {
    if (refused_streams++ == 0) refusal = std::string(why.message());
  };
  auto say_refused = [&] {
    if (refused_streams == 0 || ctx.json) return;
    *ctx.err << "segctl: import: the server refused " << refused_streams << " of the " << streams
             << " streams asked for (" << refusal << "); the import used the others\n";
  };
  const absl::Time start = absl::Now();
  absl::StatusOr<clients::ImportReport> report =
      clients::RunImport(in, st.st_size, *mapping, sink_list, options);
  if (!report.ok()) {
    *ctx.err << "\n";
    // Refused every stream: the server's stream limit is per tenant, and
    // other imports (or other BulkIngest clients) of the tenant hold them.
    const bool all_refused = refused_streams > 0 && IsStreamLimitRefusal(report.status());
    if (!all_refused) say_refused();
    const std::string hint =
        all_refused ? "; no stream of this import was let through: other clients hold the "
                      "tenant's BulkIngest streams (the server's --max_bulk_streams_per_tenant); "
                      "try again once they finish"
                    : "";
    // --resume helps only when some batch was acknowledged (now or before).
    const int64_t acked = std::max(checkpoint.orders_acked, options.resume_after_orders);
    if (acked == 0) {
      return ctx.Fail(
          absl::Status(report.status().code(), absl::StrCat(report.status().message(), hint)));
    }
    return ctx.Fail(absl::Status(
        report.status().code(), absl::StrCat(report.status().message(), hint, " (", acked,
                                             " acknowledged orders are recorded in ", progress_file,
                                             "; re-run with --resume to skip them)")));
  }
  absl::Status finished = finish_streams();
  say_refused();
  // An empty file, or one with nothing but a header and blank lines, is an
  // export that failed, not a successful import: the error alone, no report
  // of 0 rows.
  auto skipped_as = [&](const char* reason) {
    auto it = report->skipped.find(reason);
    return it == report->skipped.end() ? int64_t{0} : it->second;
  };
  if (report->rows - skipped_as("header line") - skipped_as("empty line") == 0) {
    if (!finished.ok()) return ctx.Fail(finished);
    *ctx.err << "segctl: import: " << file
             << (report->rows == 0 ? " is empty" : " holds no row of data")
             << ": nothing to import\n";
    return kExitError;
  }
  clients::ImportProgress last;
  last.bytes_read = last.total_bytes = st.st_size;
  last.rows = report->rows;
  last.orders_acked = checkpoint.orders_acked;
  // 100% only now, every order sent acknowledged (or, stopped, none in flight).
  progress.Update(last, /*final_update=*/true, /*finished=*/finished.ok());
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (!report->stopped) {
    checkpoint.orders_acked = report->orders;
    checkpoint.complete = true;
    (void)clients::WriteCheckpoint(progress_file, checkpoint);
  }

  if (ctx.json) {
    google::protobuf::Struct s;
    auto& f = *s.mutable_fields();
    f["file"].set_string_value(file);
    f["format"].set_string_value(kind);
    f["rows"].set_number_value(report->rows);
    f["orders"].set_number_value(report->orders);
    f["orders_resumed"].set_number_value(report->orders_resumed);
    f["applied"].set_number_value(report->applied);
    f["duplicates"].set_number_value(report->duplicates);
    f["rejected"].set_number_value(report->rejected);
    f["ignored"].set_number_value(report->ignored);
    f["bad_rows"].set_number_value(report->bad_rows);
    f["stopped"].set_bool_value(report->stopped);
    f["seconds"].set_number_value(seconds);
    auto* skipped = f["skipped"].mutable_struct_value()->mutable_fields();
    for (const auto& [reason, n] : report->skipped) (*skipped)[reason].set_number_value(n);
    auto* errors = f["errors"].mutable_list_value();
    for (const clients::RowError& e : report->errors) {
      auto* ef = errors->add_values()->mutable_struct_value()->mutable_fields();
      (*ef)["line"].set_number_value(e.line);
      (*ef)["message"].set_string_value(e.message);
    }
    ctx.PrintJson(s);
  } else {
    for (const clients::RowError& e : report->errors) *ctx.err << file << ":" << e.line << ": " << e.message << "\n";
    if (report->errors.size() < static_cast<size_t>(report->bad_rows + report->rejected)) {
      *ctx.err << "(" << report->bad_rows + report->rejected - static_cast<int64_t>(report->errors.size())
               << " more errors not shown)\n";
    }
    *ctx.out << "imported " << file << " (" << kind << "): " << report->rows << " rows -> " << report->orders
             << " orders: " << report->applied << " applied, " << report->duplicates << " duplicates, "
             << report->rejected << " rejected, " << report->ignored << " ignored";
    if (report->orders_resumed > 0) *ctx.out << ", " << report->orders_resumed << " skipped by --resume";
    *ctx.out << "; " << report->bad_rows << " bad rows";
    // "<reason>: <n>": the reasons are phrases ("invoice with a bad row")
    // that an appended "s" would not make plural.
    for (const auto& [reason, n] : report->skipped) *ctx.out << "; skipped " << reason << ": " << n;
    *ctx.out << absl::StrFormat("; %.1f s\n", seconds);
    if (report->stopped) *ctx.out << "stopped at the first error (--on_error=stop)\n";
  }
  if (!checkpoint_error.ok()) *ctx.err << "segctl: warning: " << checkpoint_error.message() << "\n";
  if (!finished.ok()) return ctx.Fail(finished);
  // Rows were read but every one was refused (a wrong --columns, the wrong
  // format): nothing was imported, and exit 0 would hide it.
  const int64_t accepted =
      report->applied + report->duplicates + report->ignored + report->orders_resumed;
  if (accepted == 0 && report->bad_rows + report->rejected > 0 && !report->stopped) {
    *ctx.err << "segctl: import: no row of " << file
             << " could be imported; check the format (and --columns)\n";
    return kExitError;
  }
  return report->stopped ? kExitError : kExitOk;
}

}  // namespace

std::vector<Command> ImportCommands() {
  return {
      {"import",
       "cdnow|retail|csv FILE",
       "import order history over BulkIngest (progress on stderr; idempotent, resumable)",
       "Formats:\n"
       "  cdnow   CDNOW records: customer [sample_id] yyyymmdd cds dollars (one order per row)\n"
       "  retail  online-retail export: invoice lines grouped into one order per InvoiceNo;\n"
       "          rows without CustomerID and 'C' (cancellation) invoices are skipped and counted\n"
       "  csv     any export, with --columns (see clients/import/column_mapping.h), e.g.\n"
       "          --columns=customer_id=1,order_id=2,placed_at=3:%Y-%m-%d,amount=4:decimal\n"
       "Order ids are derived from the file, so re-running an import changes nothing.\n"
       "After every acknowledged batch the progress file records how far it got;\n"
       "--resume skips what was acknowledged. Exit 0 when the file was imported (bad rows\n"
       "skipped and reported), 1 when it stopped or failed, the file is empty or no row\n"
       "could be imported, "
       "2 on a usage error.",
       {{"columns", "SPEC", "csv: the column mapping", ""},
        {"delimiter", "C", "csv: the field delimiter (\\t for tab)", ","},
        {"header", "", "csv: the first line is a header", "true"},
        {"on_error", "skip|stop", "what a bad row does", "skip"},
        {"batch_size", "N", "orders per BulkIngest batch (1..1000)", "1000"},
        {"streams", "N",
         "BulkIngest streams sending batches at once (1..8; --on_error=stop sends one batch at "
         "a time; the server allows 8 per tenant by default, and the import goes on without "
         "those it refuses)",
         "4"},
        {"resume", "",
         "skip the orders the progress file says were acknowledged (only for the same file, "
         "format, server and API key; otherwise refused: remove the file, and a full re-import "
         "answers what was imported as duplicates)",
         ""},
        {"allow_unterminated", "",
         "import a file whose last line has no newline (refused otherwise: it may be cut short)",
         ""},
        {"progress_file", "FILE", "where progress is recorded",
         ".segmentd/import-<file>.<format>.progress"},
        {"progress", "auto|on|off",
         "draw the progress line on stderr (auto: when it is a terminal)", "auto"}},
       2,
       2,
       Import},
  };
}

}  // namespace segmentd::segctl
