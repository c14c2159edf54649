/** Email over SMTP (nodemailer): templated subject and body, the plate crop attached. */
import nodemailer, { type Transporter } from 'nodemailer';
import type { AlertChannelsConfig, EmailAction } from '../../common/alert-rules.js';
import { readSecret, type Env } from '../secrets.js';
import { DEFAULT_BODY, DEFAULT_SUBJECT, renderTemplate, templateValues } from '../templates.js';
import { DeliveryError, type AlertChannel, type Notification } from './channel.js';

export type ImageLoader = (url: string) => Promise<Buffer | null>;

export class EmailChannel implements AlertChannel {
  readonly channel = 'email' as const;
  private transport: Transporter | null = null;

  constructor(
    private readonly cfg: AlertChannelsConfig['email'],
    private readonly env: Env,
    private readonly loadImage: ImageLoader,
    private readonly timeoutMs: number,
  ) {}

  private getTransport(): Transporter {
    if (!this.transport) {
      const user = this.cfg.user_env ? readSecret(this.cfg.user_env, this.env) : undefined;
      const pass = this.cfg.pass_env ? readSecret(this.cfg.pass_env, this.env) : undefined;
      this.transport = nodemailer.createTransport({
        host: this.cfg.host,
        port: this.cfg.port,
        secure: this.cfg.secure,
        auth: user ? { user, pass } : undefined,
        connectionTimeout: this.timeoutMs,
        greetingTimeout: this.timeoutMs,
        socketTimeout: this.timeoutMs,
        // Never write message contents (plates) or credentials to nodemailer's logger.
        logger: false,
      });
    }
    return this.transport;
  }

  async send(n: Notification, signal: AbortSignal): Promise<void> {
    const a = n.action as EmailAction;
    const values = templateValues(n);
    const attachments: { filename: string; content: Buffer; contentType: string }[] = [];
    if ((a.attach_plate ?? true) && n.event.images.plate_url) {
      const jpeg = await this.loadImage(n.event.images.plate_url).catch(() => null);
      if (jpeg) attachments.push({ filename: `plate-${n.event.plate.normalized_text}.jpg`, content: jpeg, contentType: 'image/jpeg' });
    }
    if (signal.aborted) throw new DeliveryError('email timed out');
    try {
      await this.getTransport().sendMail({
        from: this.cfg.from,
        to: a.to,
        subject: renderTemplate(a.subject ?? DEFAULT_SUBJECT, values),
        text: renderTemplate(a.body ?? DEFAULT_BODY, values),
        attachments,
      });
    } catch (err) {
      const e = err as { code?: string; responseCode?: number };
      // 5xx SMTP replies are permanent (bad recipient, rejected); connection trouble is not.
      const permanent = typeof e.responseCode === 'number' && e.responseCode >= 500;
      throw new DeliveryError(
        `SMTP ${this.cfg.host}:${this.cfg.port} failed${e.responseCode ? ` with ${e.responseCode}` : ''}${e.code ? ` (${e.code})` : ''}`,
        !permanent,
      );
    }
  }

  close(): void {
    this.transport?.close();
    this.transport = null;
  }
}
