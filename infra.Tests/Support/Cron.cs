using System.Globalization;

namespace PieFed.Infra.Tests.Support;

/// <summary>
/// When a five-field cron schedule fires, spelt out field by field, so that two spellings of one
/// schedule compare equal ("*/1 * * * *" and "* * * * *") and two schedules that differ do not.
/// Covers what crontab(5) allows in a field: *, numbers, ranges, steps and lists; day of week 7 is 0.
/// </summary>
internal static class Cron
{
    private static readonly (string Name, int First, int Last)[] Fields =
        [("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7)];

    public static string Describe(string schedule)
    {
        var fields = schedule.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != Fields.Length)
        {
            throw new FormatException($"\"{schedule}\" does not have five fields.");
        }

        return string.Join("; ", Fields.Zip(fields, (field, text) => $"{field.Name} {string.Join(',', Values(text, field.First, field.Last, field.Name == "day of week"))}"));
    }

    private static SortedSet<int> Values(string field, int first, int last, bool dayOfWeek)
    {
        var values = new SortedSet<int>();
        foreach (var part in field.Split(','))
        {
            var (range, step) = part.Split('/') switch
            {
                [var r] => (r, 1),
                [var r, var s] => (r, int.Parse(s, CultureInfo.InvariantCulture)),
                _ => throw new FormatException($"\"{part}\" is not a cron field."),
            };
            var (from, to) = range == "*" ? (first, last) : range.Split('-') switch
            {
                [var one] => (Number(one), step == 1 ? Number(one) : last),
                [var low, var high] => (Number(low), Number(high)),
                _ => throw new FormatException($"\"{range}\" is not a cron range."),
            };
            for (var value = from; value <= to; value += step)
            {
                values.Add(dayOfWeek && value == 7 ? 0 : value);
            }
        }

        return values;
    }

    private static int Number(string text) => int.Parse(text, CultureInfo.InvariantCulture);
}
