"""What can be wrong with a lead file as a whole (名单文件错误), in Chinese and English.

Each problem is a :class:`LeadFileError` subclass with its own code; ``row`` says where
in the file, when it can. Row problems (a bad number, a duplicate) are not errors: the
reader reports them as events and goes on.
"""

from __future__ import annotations

from callcenter.errors import AppError, Language


class LeadFileError(AppError):
    """The file as a whole cannot be imported; ``row`` says where, when it can."""

    code = "lead-file-invalid"
    status = 422
    message_zh = "名单文件无法导入"
    message_en = "the lead file cannot be imported"

    @property
    def row(self) -> int | None:
        row = self.details.get("row")
        return row if isinstance(row, int) else None


class UnsupportedFileType(LeadFileError):
    code = "lead-file-type"
    message_zh = "不支持的文件类型：{filename}。请上传 CSV 或 XLSX 文件"
    message_en = "unsupported file type: {filename}; upload a CSV or XLSX file"


class XlsNotSupported(LeadFileError):
    code = "lead-file-xls"
    message_zh = "不支持旧版 Excel 97-2003（.xls）文件，请在 Excel 中另存为 .xlsx 或 CSV 后再导入"
    message_en = "old Excel 97-2003 (.xls) files are not supported: save as .xlsx or CSV first"


class EmptyLeadFile(LeadFileError):
    code = "lead-file-empty"
    message_zh = "文件为空，没有任何数据行"
    message_en = "the file is empty: it has no rows"


class NoPhoneColumn(LeadFileError):
    code = "lead-file-no-phone-column"
    message_zh = "第 {row} 行的表头中找不到电话号码列（例如“电话”或“手机”），表头为：{headers}"
    message_en = (
        "no phone number column (such as 'phone' or 'mobile') in the header on row {row}; "
        "the headers are: {headers}"
    )

    def message(self, language: Language) -> str:
        """Naming the worksheet of a workbook, which may not be the one holding the list."""
        text = super().message(language)
        sheet = self.details.get("sheet")
        if not sheet:
            return text
        if language == "zh-CN":
            return f"{text}（工作表“{sheet}”；名单在其他工作表时请指定工作表名）"
        return f"{text} (sheet '{sheet}'; name the sheet when the list is on another)"


class UnknownMappedColumn(LeadFileError):
    code = "lead-file-unknown-column"
    message_zh = "列映射中的列“{column}”不在第 {row} 行的表头中"
    message_en = "the mapped column '{column}' is not in the header on row {row}"


class TooManyRows(LeadFileError):
    code = "lead-file-too-many-rows"
    message_zh = "文件超过 {max_rows} 行的上限（在第 {row} 行），请拆分后再导入"
    message_en = "the file has more than {max_rows} rows (at row {row}): split it and import again"


class CorruptXlsx(LeadFileError):
    code = "lead-file-corrupt-xlsx"
    message_zh = "XLSX 文件已损坏或不是有效的 Excel 文件，请在 Excel 中打开并另存后再导入"
    message_en = (
        "the XLSX file is damaged or not a valid Excel file: open it in Excel and save again"
    )

    def message(self, language: Language) -> str:
        text = super().message(language)
        if self.row is None:
            return text
        return (
            f"{text}（第 {self.row} 行附近）"
            if language == "zh-CN"
            else f"{text} (near row {self.row})"
        )


class SheetNotFound(LeadFileError):
    code = "lead-file-sheet-not-found"
    message_zh = "工作簿中没有名为“{sheet}”的工作表，现有：{sheets}"
    message_en = "the workbook has no sheet named '{sheet}'; it has: {sheets}"


class UndecodableText(LeadFileError):
    code = "lead-file-undecodable"
    message_zh = "第 {row} 行的文字既不是 UTF-8 也不是 GBK/GB18030 编码，请另存为 UTF-8 后导入"
    message_en = "the text on row {row} is neither UTF-8 nor GBK/GB18030: save it as UTF-8"


class MalformedCsv(LeadFileError):
    code = "lead-file-malformed-csv"
    message_zh = "CSV 文件第 {row} 行格式错误：{problem}"
    message_en = "the CSV file is malformed on row {row}: {problem}"
