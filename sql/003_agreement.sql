-- The user agreement, by version.  The one in force is the latest whose
-- published_at has come (GET /api/agreement); registration must name its
-- version, and portal_user keeps the version each parent agreed to, so a
-- published version is never edited or deleted: publish a new one.

CREATE TABLE agreement (
    version      text PRIMARY KEY CHECK (version ~ '^[0-9A-Za-z._-]{1,32}$'),
    title_zh     text NOT NULL CHECK (title_zh <> ''),
    title_en     text NOT NULL CHECK (title_en <> ''),
    text_zh      text NOT NULL CHECK (text_zh <> ''),
    text_en      text NOT NULL CHECK (text_en <> ''),
    published_at timestamptz NOT NULL UNIQUE
);
COMMENT ON TABLE agreement IS
    '[reference] Versions of the user agreement; the latest published one '
    'is in force.';

-- The first version.  Each text is one E'' string written in segments:
-- a segment on the next line continues it (SQL string continuation) and
-- is read as an E'' string too, so its \n are line breaks.
INSERT INTO agreement (version, title_zh, title_en, text_zh, text_en,
                       published_at)
VALUES (
    '2024-09-01',
    '学生儿童医疗保险自助服务平台用户协议',
    'User Agreement of the Student and Child Medical Insurance Self-Service '
    'Portal',
    E'欢迎使用本市城乡居民医疗保险学生儿童自助服务平台（以下简称“本平台”）。'
    '请您在注册前仔细阅读本协议，勾选同意即表示您已阅读、理解并接受本协议全部内容。\n\n'
    '一、服务内容\n'
    '本平台为参保学生、儿童的监护人提供账户注册、参保信息查询、缴费银行账户信息采集与变更、'
    '缴费记录查询等自助服务。具体服务以平台实际提供的为准。\n\n'
    '二、账户注册\n'
    '1. 您应以参保学生、儿童监护人的身份，使用参保人的公民身份号码、社会保障卡卡号'
    '及经学校申报的手机号码注册，每名参保人只能注册一个账户。\n'
    '2. 您应保证所填信息真实、准确、完整。手机号码与学校申报的号码不一致的，'
    '请先通过学校办理变更。\n\n'
    '三、账户安全\n'
    '1. 请妥善保管登录密码和短信验证码，不要告知他人。因您保管不善造成的损失由您自行承担。\n'
    '2. 发现账户被他人使用或存在安全风险的，请立即修改密码并联系经办机构。\n'
    '3. 本平台工作人员不会以任何方式向您索要密码或短信验证码。\n\n'
    '四、个人信息保护\n'
    '本平台依照《中华人民共和国个人信息保护法》《社会保险法》等法律法规收集和使用个人信息，'
    '仅用于医疗保险参保、缴费及相关服务；公民身份号码、银行账户等敏感信息加密存储，'
    '未经您同意或法律法规规定，不向第三方提供。\n\n'
    '五、用户义务\n'
    '您不得利用本平台冒用他人身份、提交虚假信息，或以任何方式干扰平台正常运行。'
    '违反的，本平台有权暂停或终止服务，并依法移交有关部门处理。\n\n'
    '六、服务的变更与中断\n'
    '因系统维护、升级或不可抗力等原因，本平台可能暂停服务，将尽量提前公告。\n\n'
    '七、协议的修改\n'
    '本协议修改后将在平台公布，新版本生效后您继续使用本平台的，视为接受修改后的协议。\n\n'
    '八、其他\n'
    '本协议的解释和争议处理适用中华人民共和国法律。如有疑问，请咨询当地医疗保障经办机构。',
    E'Welcome to the self-service portal of the city''s resident medical '
    'insurance for students and children (the "Portal"). Please read this '
    'agreement before you register: by ticking "I agree" you confirm that '
    'you have read, understood and accepted all of it.\n\n'
    '1. Services\n'
    'The Portal lets the guardians of insured students and children register '
    'an account, view insurance details, declare or change the bank account '
    'that premiums are debited from, and view payments. The services '
    'actually offered on the Portal apply.\n\n'
    '2. Registration\n'
    '(1) You register as the guardian of the insured student or child, with '
    'the insured person''s resident ID number, social security card number '
    'and the phone number declared through the school. Each insured person '
    'can have one account only.\n'
    '(2) The information you give must be true, accurate and complete. If '
    'your phone number differs from the one declared through the school, '
    'have the school change it first.\n\n'
    '3. Account security\n'
    '(1) Keep your password and SMS codes to yourself. You bear losses '
    'caused by failing to keep them safe.\n'
    '(2) If you find that someone else used your account, or suspect a '
    'risk, change your password at once and contact the insurance office.\n'
    '(3) The Portal''s staff will never ask you for your password or an SMS '
    'code.\n\n'
    '4. Personal information\n'
    'The Portal collects and uses personal information under the Personal '
    'Information Protection Law, the Social Insurance Law and other laws, '
    'only for enrolment, premium payment and related services. ID numbers, '
    'bank accounts and other sensitive information are stored encrypted and '
    'are not given to third parties without your consent unless the law '
    'requires it.\n\n'
    '5. Your obligations\n'
    'You must not use the Portal to impersonate anyone, submit false '
    'information or disturb its operation. The Portal may suspend or end '
    'the service for whoever does, and refer the case to the authorities.\n\n'
    '6. Changes and interruptions\n'
    'The Portal may be unavailable for maintenance, upgrades or force '
    'majeure; planned interruptions are announced in advance where '
    'possible.\n\n'
    '7. Changes to this agreement\n'
    'Changes are published on the Portal. Using the Portal after a new '
    'version takes effect means accepting it.\n\n'
    '8. Miscellaneous\n'
    'This agreement is governed by the laws of the People''s Republic of '
    'China. For questions, contact your local medical insurance office.',
    '2024-09-01 00:00:00+08'
);
