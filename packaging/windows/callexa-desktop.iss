; Inno Setup script for Callexa Desktop (Inno Setup 6.3 or newer).
; packaging/windows/build_windows.py compiles it after PyInstaller has built
; dist\callexa-desktop\, passing the defines below:
;   iscc /DAppVersion=0.1.0 /DBundleDir=...\dist\callexa-desktop
;        /DOutputDir=...\dist /DRepoDir=... packaging\windows\callexa-desktop.iss
; Installs per user by default (no administrator needed); the operator may
; choose "for all users" in the first dialog.

#ifndef AppVersion
  #error Pass /DAppVersion=x.y.z (build_windows.py does)
#endif
#ifndef BundleDir
  #error Pass /DBundleDir=<the PyInstaller onedir folder>
#endif
#ifndef OutputDir
  #define OutputDir "."
#endif
#ifndef RepoDir
  #define RepoDir "..\.."
#endif

#define AppName "Callexa Desktop"
#define AppExe "callexa-desktop.exe"
#define CliExe "callexa-desktop-cli.exe"

[Setup]
; The AppId identifies the program for upgrades and the uninstaller: never change it.
AppId={{AF01A781-67F7-4D61-9F80-C7BE09F27DF7}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppName}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#OutputDir}
OutputBaseFilename=callexa-desktop-{#AppVersion}-windows-x64-setup
SetupIconFile={#RepoDir}\resources\callexa-desktop.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; The app may be running (tray): ask to close it before files are replaced.
CloseApplications=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole PyInstaller folder: both executables share _internal\.
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade replaces the bundle wholesale so no library of an older version lingers.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "NPS surveys for Segment identify records"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

; The data folder (%LOCALAPPDATA%\CallexaDesktop) and the keys in Windows
; Credential Manager belong to the operator: the uninstaller leaves them.
