import { useEffect, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { setTheme, storedTheme, type Theme } from "../../app/theme";
import { useSession } from "../../app/sessionContext";
import { setLanguage } from "../../i18n";
import { isLanguage, LANGUAGES } from "../../i18n/language";
import { Avatar } from "../../ui/Avatar";
import { Dialog } from "../../ui/Dialog";
import { useStore } from "../../ui/useStore";
import { LogoutSection } from "./LogoutSection";
import { SessionsSection } from "../sessions/SessionsSection";
import { EncryptionSection } from "../verification/EncryptionSection";
import { PasswordChangeSection } from "../policy/PasswordChangeSection";

const NOTIFY_KEY = "sceau.notifications";

/** Profile, notifications, language, theme and sign-out. */
export function SettingsDialog({ onClose }: { onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const profile = useStore(session.profile);
  const [name, setName] = useState(profile.displayName);
  const [caps, setCaps] = useState({ displayName: true, avatar: true });
  const [status, setStatus] = useState<string | null>(null);
  const [theme, setThemeState] = useState<Theme>(storedTheme());
  const [permission, setPermission] = useState(typeof Notification === "undefined" ? "unsupported" : Notification.permission);
  const [notifyOn, setNotifyOn] = useState(localStorage.getItem(NOTIFY_KEY) !== "off");

  useEffect(() => {
    void session.profileCapabilities().then((c) =>
      setCaps({ ...c, displayName: c.displayName && session.config.features.change_display_name !== false }),
    );
  }, [session]);

  async function saveName(e: FormEvent) {
    e.preventDefault();
    try {
      await session.setDisplayName(name.trim());
      setStatus(t("settings.saved"));
    } catch {
      setStatus(t("settings.saveError"));
    }
  }

  async function pickAvatar(file: File | undefined) {
    if (!file) return;
    try {
      await session.setAvatar(file);
      setStatus(t("settings.saved"));
    } catch {
      setStatus(t("settings.saveError"));
    }
  }

  async function toggleNotifications(on: boolean) {
    if (on && typeof Notification !== "undefined" && Notification.permission === "default") {
      setPermission(await Notification.requestPermission());
    }
    localStorage.setItem(NOTIFY_KEY, on ? "on" : "off");
    setNotifyOn(on);
  }

  return (
    <Dialog title={t("settings.title")} onClose={onClose} wide>
      <section className="settings-section" aria-labelledby="settings-profile">
        <h3 id="settings-profile">{t("settings.profile")}</h3>
        <div className="profile-edit">
          <Avatar id={profile.userId} name={profile.displayName} mxc={profile.avatarMxc} size={64} />
          <div>
            <p className="hint">{profile.userId}</p>
            {caps.avatar && (
              <label className="button button-small file-button">
                {t("settings.changeAvatar")}
                <input type="file" accept="image/*" className="visually-hidden" onChange={(e) => void pickAvatar(e.target.files?.[0])} />
              </label>
            )}
          </div>
        </div>
        <form className="inline-form" onSubmit={saveName}>
          <div className="field">
            <label htmlFor="settings-name">{t("settings.displayName")}</label>
            <input id="settings-name" value={name} disabled={!caps.displayName} onChange={(e) => setName(e.target.value)} />
          </div>
          <button type="submit" className="button" disabled={!caps.displayName || !name.trim() || name === profile.displayName}>
            {t("common.save")}
          </button>
        </form>
        {!caps.displayName && <p className="hint">{t("settings.profileLocked")}</p>}
        <p role="status" className="hint">
          {status}
        </p>
      </section>

      <section className="settings-section" aria-labelledby="settings-notifications">
        <h3 id="settings-notifications">{t("settings.notifications")}</h3>
        <div className="checkbox-field">
          <input
            id="settings-notify"
            type="checkbox"
            checked={notifyOn && permission === "granted"}
            disabled={permission === "unsupported" || permission === "denied"}
            onChange={(e) => void toggleNotifications(e.target.checked)}
          />
          <label htmlFor="settings-notify">{t("settings.notifyDesktop")}</label>
        </div>
        <p className="hint">
          {permission === "denied" ? t("settings.notifyDenied") : permission === "unsupported" ? t("settings.notifyUnsupported") : t("settings.notifyHint")}
        </p>
      </section>

      <section className="settings-section" aria-labelledby="settings-appearance">
        <h3 id="settings-appearance">{t("settings.appearance")}</h3>
        <div className="field">
          <label htmlFor="settings-language">{t("settings.language")}</label>
          <select
            id="settings-language"
            value={i18n.language}
            onChange={(e) => isLanguage(e.target.value) && void setLanguage(e.target.value)}
          >
            {LANGUAGES.map((lang) => (
              <option key={lang} value={lang}>
                {t(`settings.languages.${lang}`)}
              </option>
            ))}
          </select>
        </div>
        <fieldset className="field">
          <legend>{t("settings.theme")}</legend>
          {(["system", "light", "dark"] as const).map((value) => (
            <div className="checkbox-field" key={value}>
              <input
                id={`theme-${value}`}
                type="radio"
                name="theme"
                checked={theme === value}
                onChange={() => {
                  setTheme(value);
                  setThemeState(value);
                }}
              />
              <label htmlFor={`theme-${value}`}>{t(`settings.themes.${value}`)}</label>
            </div>
          ))}
        </fieldset>
      </section>

      <PasswordChangeSection />
      <EncryptionSection />
      <SessionsSection />
      <LogoutSection />
    </Dialog>
  );
}
