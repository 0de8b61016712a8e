#include "clients/segctl/table.h"

#include <algorithm>

namespace segmentd::segctl {

std::string EscapeCell(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const unsigned char next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {
          // A C1 control (U+0080-U+009F, e.g. U+0085 NEXT LINE): some
          // terminals act on these as on the ASCII ones.
          out += "\\u00";
          out += kHex[next >> 4];
          out += kHex[next & 0xf];
          ++i;
        } else if (c == 0xe2 && next == 0x80 && i + 2 < text.size() &&
                   (text[i + 2] == '\xa8' || text[i + 2] == '\xa9')) {
          // U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR.
          out += text[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
          i += 2;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

size_t DisplayWidth(std::string_view text) {
  size_t width = 0;
  for (const char ch : text) {
    if ((static_cast<unsigned char>(ch) & 0xc0) != 0x80) ++width;  // not a continuation byte
  }
  return width;
}

std::vector<std::string> Table::Escaped(std::vector<std::string> cells) {
  for (std::string& cell : cells) cell = EscapeCell(cell);
  return cells;
}

void Table::Print(std::ostream& out) const {
  std::vector<size_t> width(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], DisplayWidth(row[i]));
    }
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      line += cell;
      if (i + 1 < width.size()) line += std::string(width[i] - DisplayWidth(cell) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  };
  print(header_);
  for (const auto& row : rows_) print(row);
}

}  // namespace segmentd::segctl
