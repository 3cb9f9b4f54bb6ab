import { useCallback, useEffect, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useSession } from "../../app/sessionContext";
import type { Member, RoomViewModel } from "../../matrix/roomView";
import { Avatar } from "../../ui/Avatar";
import { Dialog } from "../../ui/Dialog";
import { useStore } from "../../ui/useStore";
import { UserSearch } from "../newchat/UserSearch";
import { roleOf, ROLE_LEVELS, type Role } from "./roles";
import { EmailInvite } from "../policy/EmailInvite";
import { ExternalBadge } from "../policy/ExternalBadge";
import { explainError } from "../policy/policyErrors";
import { RoomAccessSection } from "../policy/RoomAccessSection";

interface Props {
  vm: RoomViewModel;
  onClose: () => void;
  onLeft: () => void;
}

/** Name, topic, avatar, members and their roles, who may invite, leave and forget. */
export function RoomSettingsDialog({ vm, onClose, onLeft }: Props) {
  const { t } = useTranslation();
  const session = useSession();
  const info = useStore(vm.info);
  const [name, setName] = useState(info.name);
  const [topic, setTopic] = useState(info.topic ?? "");
  const [members, setMembers] = useState<Member[]>([]);
  const [status, setStatus] = useState<string | null>(null);
  const [inviteError, setInviteError] = useState<string | null>(null);
  const roomId = info.roomId;
  const lowPriority = useStore(session.roomList.rooms).find((r) => r.roomId === roomId)?.lowPriority ?? false;

  const reload = useCallback(() => void vm.members().then(setMembers), [vm]);
  useEffect(reload, [reload, info]);

  async function attempt(action: () => Promise<unknown>, done?: () => void) {
    setStatus(null);
    try {
      await action();
      setStatus(t("settings.saved"));
      done?.();
    } catch (err) {
      setStatus(t("errors.generic", { message: explainError(t, err) }));
    }
  }

  function saveGeneral(e: FormEvent) {
    e.preventDefault();
    void attempt(async () => {
      if (name.trim() && name.trim() !== info.name && info.can.name) await session.actions.setName(roomId, name.trim());
      if (topic.trim() !== (info.topic ?? "") && info.can.topic) await session.actions.setTopic(roomId, topic.trim());
    });
  }

  return (
    <Dialog title={t("roomSettings.title", { room: info.name })} onClose={onClose} wide>
      <section className="settings-section" aria-labelledby="room-general">
        <h3 id="room-general">{t("roomSettings.general")}</h3>
        <div className="profile-edit">
          <Avatar id={roomId} name={info.name} mxc={info.avatarMxc} size={64} />
          {info.can.avatar && (
            <label className="button button-small file-button">
              {t("roomSettings.changeAvatar")}
              <input
                type="file"
                accept="image/*"
                className="visually-hidden"
                onChange={(e) => {
                  const file = e.target.files?.[0];
                  if (file) void attempt(() => session.actions.setAvatar(roomId, file));
                }}
              />
            </label>
          )}
        </div>
        <form className="form" onSubmit={saveGeneral}>
          <div className="field">
            <label htmlFor="room-settings-name">{t("roomSettings.name")}</label>
            <input id="room-settings-name" value={name} disabled={!info.can.name} onChange={(e) => setName(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="room-settings-topic">{t("roomSettings.topic")}</label>
            <textarea id="room-settings-topic" rows={2} value={topic} disabled={!info.can.topic} onChange={(e) => setTopic(e.target.value)} />
          </div>
          {(info.can.name || info.can.topic) && (
            <button type="submit" className="button">
              {t("common.save")}
            </button>
          )}
        </form>
        <p className="hint">{info.encrypted ? t("roomSettings.encrypted") : t("roomSettings.notEncrypted")}</p>
        <div className="checkbox-field">
          <input
            id="room-low-priority"
            type="checkbox"
            checked={lowPriority}
            onChange={(e) => void attempt(() => session.actions.setTag(roomId, "m.lowpriority", e.target.checked))}
          />
          <label htmlFor="room-low-priority">{t("roomSettings.lowPriority")}</label>
        </div>
      </section>

      <section className="settings-section" aria-labelledby="room-members">
        <h3 id="room-members">{t("roomSettings.members", { count: members.length })}</h3>
        {info.can.invite && (
          <UserSearch
            id="room-invite"
            label={t("roomSettings.invite")}
            busy={false}
            exclude={new Set(members.map((m) => m.userId))}
            onPick={(userId) => {
              setInviteError(null);
              void session.actions.invite(roomId, userId).then(
                () => {
                  setStatus(t("settings.saved"));
                  reload();
                },
                (err: unknown) => setInviteError(explainError(t, err)),
              );
            }}
          />
        )}
        {inviteError && (
          <p className="form-error" role="alert">
            {inviteError}
          </p>
        )}
        <EmailInvite roomId={roomId} canInvite={info.can.invite} />
        <ul className="member-list">
          {members.map((m) => (
            <li key={m.userId} className="member">
              <Avatar id={m.userId} name={m.name} mxc={m.avatarMxc} size={32} />
              <span className="result-text">
                <span className="result-name">
                  {m.name}
                  {m.external && <> <ExternalBadge /></>}
                  {m.membership === "invite" && <span className="hint"> {t("roomSettings.invited")}</span>}
                </span>
                <span className="hint">{m.userId}</span>
              </span>
              {/* An external partner may not be given any rights (policy): no role to choose. */}
              {info.can.powerLevels && !m.external && m.userId !== session.userId && m.powerLevel < info.myLevel ? (
                <select
                  aria-label={t("roomSettings.roleOf", { name: m.name })}
                  value={roleOf(m.powerLevel)}
                  onChange={(e) => void attempt(() => session.actions.setPowerLevel(roomId, m.userId, ROLE_LEVELS[e.target.value as Role]), reload)}
                >
                  {(Object.keys(ROLE_LEVELS) as Role[])
                    .filter((role) => ROLE_LEVELS[role] <= info.myLevel)
                    .map((role) => (
                      <option key={role} value={role}>
                        {t(`roomSettings.roles.${role}`)}
                      </option>
                    ))}
                  {roleOf(m.powerLevel) === "custom" && <option value="custom">{t("roomSettings.customLevel", { level: m.powerLevel })}</option>}
                </select>
              ) : (
                <span className="role-tag">
                  {roleOf(m.powerLevel) === "custom" ? t("roomSettings.customLevel", { level: m.powerLevel }) : t(`roomSettings.roles.${roleOf(m.powerLevel)}`)}
                </span>
              )}
            </li>
          ))}
        </ul>
      </section>

      <RoomAccessSection roomId={roomId} />

      <section className="settings-section" aria-labelledby="room-permissions">
        <h3 id="room-permissions">{t("roomSettings.permissions")}</h3>
        <div className="field">
          <label htmlFor="room-invite-level">{t("roomSettings.whoMayInvite")}</label>
          <select
            id="room-invite-level"
            value={roleOf(info.inviteLevel)}
            disabled={!info.can.powerLevels}
            onChange={(e) => void attempt(() => session.actions.setInviteLevel(roomId, ROLE_LEVELS[e.target.value as Role]))}
          >
            {(Object.keys(ROLE_LEVELS) as Role[]).map((role) => (
              <option key={role} value={role}>
                {t(`roomSettings.inviteRoles.${role}`)}
              </option>
            ))}
            {roleOf(info.inviteLevel) === "custom" && <option value="custom">{t("roomSettings.customLevel", { level: info.inviteLevel })}</option>}
          </select>
        </div>
      </section>

      <section className="settings-section" aria-labelledby="room-leave">
        <h3 id="room-leave">{t("roomSettings.leaveSection")}</h3>
        <div className="button-row">
          <button
            type="button"
            className="button button-danger"
            onClick={() => window.confirm(t("roomSettings.leaveConfirm")) && void attempt(() => session.actions.leave(roomId), onLeft)}
          >
            {t("roomSettings.leave")}
          </button>
          <button
            type="button"
            className="button button-danger"
            onClick={() => window.confirm(t("roomSettings.forgetConfirm")) && void attempt(() => session.actions.forget(roomId), onLeft)}
          >
            {t("roomSettings.forget")}
          </button>
        </div>
      </section>
      <p role="status" className="hint">
        {status}
      </p>
    </Dialog>
  );
}
