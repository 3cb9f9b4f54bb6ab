import i18next from "i18next";
import { initReactI18next } from "react-i18next";
import en from "./en.json";
import fr from "./fr.json";
import { pickLanguage, type Language } from "./language";

const STORAGE_KEY = "sceau.language";

function storedLanguage(): string | null {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

/** Start i18next with both catalogues bundled (they are small). */
export async function initI18n(): Promise<Language> {
  const language = pickLanguage(storedLanguage(), navigator.languages ?? [navigator.language]);
  await i18next.use(initReactI18next).init({
    resources: { fr: { translation: fr }, en: { translation: en } },
    lng: language,
    fallbackLng: "fr",
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  document.documentElement.lang = language;
  return language;
}

/** Change language from settings and remember the choice. */
export async function setLanguage(language: Language): Promise<void> {
  try {
    window.localStorage.setItem(STORAGE_KEY, language);
  } catch {
    // private mode: the choice lasts for this page only
  }
  await i18next.changeLanguage(language);
  document.documentElement.lang = language;
}

export { i18next };
