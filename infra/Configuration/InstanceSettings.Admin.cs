using System.Text.RegularExpressions;

namespace PieFed.Infra.Configuration;

/// <summary>The administrator that the first install creates.</summary>
internal static partial class InstanceSettings
{
    public const string DefaultAdminUserName = "piefed_admin";

    /// <summary>
    /// upstream's <c>flask init-db</c> asks again, on standard input, while the password is shorter
    /// than this (app/cli.py, <c>init_db</c>, v1.7.7): a shorter one would make the seed wait for an
    /// answer that never comes.
    /// </summary>
    public const int AdminPasswordMinimumLength = 8;

    private const string AdminUserNameAllowed =
        "3 to 50 letters, digits or '_', as PieFed's registration form allows (app/auth/forms.py); init-db asks again for a name with '@' or a space";

    private static AdminSettings? ReadAdmin(ConfigSection section, SecretInput? password, string? serverName, string? existingSecret, List<string> errors)
    {
        var userName = section.String("userName", DefaultAdminUserName, AdminUserName().IsMatch, AdminUserNameAllowed);
        var email = section.String("email", serverName is null ? null : $"admin@{serverName}", AdminEmail().IsMatch,
            "an email address such as \"admin@example.org\" (printable, without spaces); PieFed sends the administrator's password resets there");
        if (password is not null && existingSecret is not null)
        {
            errors.Add($"{ConfigNamespace}:adminPassword is set while {ConfigNamespace}:existingSecret is; expected the password as {AdminPasswordKeyInExistingSecret} in the Secret \"{existingSecret}\" only.");
            return null;
        }

        if (password is { Known: { } known } && !IsAdminPassword(known))
        {
            errors.Add($"{ConfigNamespace}:adminPassword: a password of {known.Length} characters is not allowed; expected {AdminPasswordAllowed}, or leave it unset and the program generates one.");
            return null;
        }

        return userName is null || email is null ? null : new AdminSettings(userName, email, password?.Value);
    }

    /// <summary>The key of an operator's existing Secret that holds the first administrator's password.</summary>
    public const string AdminPasswordKeyInExistingSecret = "PIEFED_ADMIN_PASSWORD";

    public static readonly string AdminPasswordAllowed =
        $"at least {AdminPasswordMinimumLength} characters without line breaks or other control characters (init-db reads it as one line of standard input)";

    public static bool IsAdminPassword(string password)
        => password.Length >= AdminPasswordMinimumLength && !password.Any(char.IsControl);

    [GeneratedRegex("^[A-Za-z0-9_]{3,50}$")]
    private static partial Regex AdminUserName();

    [GeneratedRegex("^[!-?A-~]{1,64}@[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")]
    private static partial Regex AdminEmail();
}
